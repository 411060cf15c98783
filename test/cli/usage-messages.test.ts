/**
 * Usage errors that name what is at fault, found before any work or output: options out of order (`train`), an
 * empty value (`ceremony contribute --name`), every problem of the domain options (`prove --oracle`). Each runs the
 * program in this process (the real actions) and expects the UsageError (exit 2) with its whole message.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../cli/main";
import { UsageError } from "../../core/errors";

const dir = mkdtempSync(join(tmpdir(), "zkrisk-usage-messages-"));

/** Run `zkrisk ...args` in this process and return the UsageError it is refused with. */
async function refused(...args: string[]): Promise<string> {
  try {
    await buildProgram().parseAsync(["node", "zkrisk", ...args]);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`zkrisk ${args.join(" ")} was not refused`);
}

describe("zkrisk train: the split dates in order", () => {
  it("refuses a --test-from not after --validation-from, naming both and their values, before the candles", async () => {
    const out = join(dir, "never.float.json");
    const message =
      "the validation split runs from --validation-from up to --test-from, so it would be empty";
    expect(
      await refused(
        "train",
        "--out",
        out,
        "--data",
        join(dir, "no-candles.csv"),
        "--validation-from",
        "2023-06-01",
        "--test-from",
        "2023-01-01",
      ),
    ).toBe(`--test-from 2023-01-01 is not after --validation-from 2023-06-01: ${message}`);
    // one of them at its default: named with it
    expect(await refused("train", "--out", out, "--validation-from", "2023-01-01")).toBe(
      `--test-from 2023-01-01 is not after --validation-from 2023-01-01: ${message}`,
    );
    expect(existsSync(out)).toBe(false);
  });
});
