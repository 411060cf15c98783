/**
 * core/validate.ts: the messages of JsonReader show a bad value as a bounded preview that never throws, so a hostile
 * document (a publisher's answer, a window file) nested too deep for JSON.stringify, or holding a huge string, gets
 * its bad field named instead of a RangeError or a message of megabytes.
 */
import { describe, expect, it } from "vitest";
import { JsonReader, preview, PREVIEW_CHARS } from "../../core/validate";

const DEPTH = 200_000;
/** An array nested DEPTH levels, as JSON.parse gives it (it parses; JSON.stringify overflows the stack on it). */
const deepArray = (): unknown => JSON.parse("[".repeat(DEPTH) + "]".repeat(DEPTH));
const deepObject = (): unknown => JSON.parse('{"a":'.repeat(DEPTH) + "0" + "}".repeat(DEPTH));
const HUGE = "7".repeat(10_000_000);

/** The message of the error `read` throws (it must throw). */
function refusal(read: () => unknown): string {
  try {
    read();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected an error");
}

describe("preview", () => {
  it("is the value's JSON when short", () => {
    expect(preview([])).toBe("[]");
    expect(preview({ a: 1 })).toBe('{"a":1}');
    expect(preview("7200000")).toBe('"7200000"');
    expect(preview(null)).toBe("null");
    expect(preview(undefined)).toBe("undefined");
  });

  it("cuts a long value to PREVIEW_CHARS characters, marking the cut", () => {
    const long = preview(Array.from({ length: 1000 }, (_, i) => i));
    expect(long).toHaveLength(PREVIEW_CHARS);
    expect(long).toMatch(/^\[0,1,2,.*…$/);
    const huge = preview(HUGE);
    expect(huge).toBe(`"${"7".repeat(PREVIEW_CHARS - 2)}…`);
  });

  it("names the kind of a value JSON.stringify cannot write, without throwing", () => {
    expect(() => JSON.stringify(deepArray())).toThrow(RangeError);
    expect(preview(deepArray())).toBe("an array");
    expect(preview(deepObject())).toBe("an object");
    expect(preview(5n)).toBe("5");
  });
});

describe("JsonReader messages", () => {
  const reader = (value: unknown) => new JsonReader("w.json", { market: value }).at("market");

  it("name the field of a value nested too deep to write", () => {
    const deep = deepArray();
    expect(refusal(() => reader(deep).string())).toBe("w.json: market: expected a string, got an array");
    expect(refusal(() => reader(deep).number())).toBe(
      "w.json: market: expected a finite number, got an array",
    );
    expect(refusal(() => reader(deep).boolean())).toBe(
      "w.json: market: expected true or false, got an array",
    );
    expect(refusal(() => new JsonReader("w.json", deep).object())).toBe(
      "w.json: (root): expected an object, got an array",
    );
  });

  it("show a huge string cut to PREVIEW_CHARS characters", () => {
    const shown = `"${"7".repeat(PREVIEW_CHARS - 2)}…`;
    expect(refusal(() => reader(HUGE).number())).toBe(
      `w.json: market: expected a finite number, got ${shown}`,
    );
    expect(refusal(() => reader(`x${HUGE}`).bigint())).toBe(
      `w.json: market: expected a decimal integer string, got "x${"7".repeat(PREVIEW_CHARS - 3)}…`,
    );
    expect(refusal(() => reader(HUGE).literal("BTC-USDT"))).toBe(
      `w.json: market: expected one of BTC-USDT, got ${shown}`,
    );
    expect(refusal(() => reader(HUGE).object())).toBe(`w.json: market: expected an object, got ${shown}`);
  });
});
