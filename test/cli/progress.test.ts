/** Progress off a terminal (cli/progress.ts): lines at most every 10 s once the work has run that long. */
import { describe, expect, it } from "vitest";
import { PROGRESS_LINE_MS, progressLines } from "../../cli/progress";

describe("progressLines", () => {
  it("prints nothing for work shorter than the interval, then a line per interval with the value and total", () => {
    const lines: string[] = [];
    let t = 1_000;
    const p = progressLines(
      (line) => lines.push(line),
      () => t,
    );
    p.start(300, "training");
    for (let epoch = 1; epoch <= 300; epoch++) {
      t += 250; // an epoch every 250 ms: 75 s in all
      p.update(epoch, `val ${epoch}`);
    }
    p.stop();
    expect(lines.length).toBe(Math.floor((300 * 250) / PROGRESS_LINE_MS));
    expect(lines[0]).toBe("zkrisk: training 40/300 val 40\n");
    expect(lines[1]).toBe("zkrisk: training 80/300 val 80\n");

    const short: string[] = [];
    const q = progressLines(
      (line) => short.push(line),
      () => t,
    );
    q.start(10, "events");
    for (let i = 1; i <= 10; i++) q.update(i);
    expect(short).toEqual([]);
  });
});
