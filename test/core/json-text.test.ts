/**
 * core/json-text.ts: the JSON inputs a user or a publisher supplies. Malformed JSON is named at its line and column
 * (JSON.parse's message without its character offset), for every kind of fault Node 20 reports, on the first line,
 * a later one and in a CRLF file; a key held twice in one object is refused at its second occurrence, at any depth,
 * keys compared as decoded. The scan behind both agrees with JSON.parse on where thousands of mutated texts break,
 * and walks a text nested 200,000 deep. The same messages through readJsonFile, the readers of publishers' and
 * candle sources' answers (with the outcome they gave malformed JSON before), the publisher's archive, and
 * `zkrisk serve --config FILE --check`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marketIdOf } from "../../candles/market-id";
import { DataError, ZkriskError } from "../../core/errors";
import { readJsonFile } from "../../core/io";
import { findJsonFault, JsonTextError, parseJsonText } from "../../core/json-text";
import { fetchJson, parseJson } from "../../feeds/sources";
import { makePublisherSet, publicKeyOf } from "../../publisher";
import { WindowArchive } from "../../publisher/serve";
import { PublisherArchiveSource } from "../../publisher/window-sources";
import { PublisherWindows, QuorumError } from "../../service/publisher-windows";
import { barTime, memoryLog, privateKeyOf, TWO_HOURS } from "../helpers/publisher-serve";
import { zkrisk } from "../helpers/zkrisk-cli";

/** The error `run` throws (it must throw). */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error("expected an error");
}

/** The JsonTextError `parseJsonText(text, "bad.json")` throws (it must throw). */
function refusal(text: string, code?: string): JsonTextError {
  const err = thrown(() => parseJsonText(text, "bad.json", code));
  expect(err).toBeInstanceOf(JsonTextError);
  return err as JsonTextError;
}

const message = (text: string) => refusal(text).message;

describe("parseJsonText: malformed JSON is named at its line and column", () => {
  it("Node 20's message is kept without its character offset (the form this relies on)", () => {
    expect(() => JSON.parse('{"a": 1 "b": 2}')).toThrow(
      "Expected ',' or '}' after property value in JSON at position 8",
    );
    const err = refusal('{"a": 1 "b": 2}', "CONFIG_INVALID");
    expect(err.message).toBe("bad.json:1:9: not valid JSON: Expected ',' or '}' after property value");
    expect(err).toBeInstanceOf(ZkriskError);
    expect([err.code, err.source, err.line, err.column]).toEqual(["CONFIG_INVALID", "bad.json", 1, 9]);
    expect(err.reason).toBe("not valid JSON: Expected ',' or '}' after property value");
    expect(refusal("{").code).toBe("FILE_INVALID");
  });

  it("on the first line, a later one, and with CR LF (one line break) or a lone CR", () => {
    const lines = ["{", '  "a": 1', '  "b": 2', "}"];
    for (const eol of ["\n", "\r\n", "\r"]) {
      expect(message(lines.join(eol)), JSON.stringify(eol)).toBe(
        "bad.json:3:3: not valid JSON: Expected ',' or '}' after property value",
      );
      // a CR LF is one break at any place before the fault, the column counts from the last one
      expect(message(["{", '  "a": 1,', '  "b": 2,', '  "c" 3', "}"].join(eol))).toBe(
        "bad.json:4:7: not valid JSON: Unexpected number",
      );
    }
  });

  it("each kind of fault Node 20 reports", () => {
    for (const [text, expected] of [
      // a token where another was expected
      ['{\n  "a" 1\n}', "2:7: not valid JSON: Expected ':' after property name"],
      ['{\n  "a"\n}', "3:1: not valid JSON: Expected ':' after property name"],
      ['{"a": 1,\n  "b" 2}', "2:7: not valid JSON: Unexpected number"],
      ['{"a": 1,\n  "b" "c"}', "2:7: not valid JSON: Unexpected string"],
      ["{a: 1}", "1:2: not valid JSON: Expected property name or '}'"],
      ['[1, 2\n"x"]', "2:1: not valid JSON: Expected ',' or ']' after array element"],
      ['{"a": 1}\n{"b": 2}', "2:1: not valid JSON: Unexpected non-whitespace character after JSON"],
      // numbers
      ['{"a": -}', "1:8: not valid JSON: No number after minus sign"],
      ['{"a": 1.}', "1:9: not valid JSON: Unterminated fractional number"],
      ['{"a": 1e}', "1:9: not valid JSON: Exponent part is missing a number"],
      ['{"a": 01}', "1:8: not valid JSON: Unexpected number"],
      // strings
      ['{\n  "a": "\\x"\n}', "2:10: not valid JSON: Bad escaped character"],
      ['{"a": "\\u12"}', "1:12: not valid JSON: Bad Unicode escape"],
      ['{"a": "x\ty"}', "1:9: not valid JSON: Bad control character in string literal"],
      ['{\n  "a": "abc', "2:12: not valid JSON: Unterminated string"],
      // trailing commas: in an object (Node gives the position), in an array (it does not: the scan finds it)
      ['{\n  "a": 1,\n}', "3:1: not valid JSON: Expected double-quoted property name"],
      ["[\n  1,\n]", "3:1: not valid JSON: Unexpected token ']'"],
      // a bad literal, a character that is no token: Node names the character and quotes the text around it
      ['{"a": tru}', "1:10: not valid JSON: Unexpected token '}'"],
      ['{\n  "a": True\n}', "2:8: not valid JSON: Unexpected token 'T'"],
      ["{'a': 1}", "1:2: not valid JSON: Expected property name or '}'"],
      ['{"a": \u201cx\u201d}', "1:7: not valid JSON: Unexpected token '\u201c'"],
      // a character that would not show is named by its code point
      ['\uFEFF{"a": 1}', "1:1: not valid JSON: Unexpected token U+FEFF"],
      ['{\r\n  "a": tru\r\n}', "2:11: not valid JSON: Unexpected token U+000D"],
      ["NaN", '1:1: not valid JSON: "NaN" is not valid JSON'],
      // the end of the text: the place after its last character
      ["", "1:1: not valid JSON: Unexpected end of JSON input"],
      ['{\n  "a": [1,\n', "3:1: not valid JSON: Unexpected end of JSON input"],
      ['{\r\n  "a":', "2:7: not valid JSON: Unexpected end of JSON input"],
      ["[1, 2", "1:6: not valid JSON: Expected ',' or ']' after array element"],
    ] as const) {
      expect(message(text), JSON.stringify(text)).toBe(`bad.json:${expected}`);
    }
  });

  it("a fault Node gives no position for is placed by the scan, without the excerpt of the text", () => {
    // Node quotes the text around the token, line breaks included: a publisher's words must not add lines to a report
    const text = `{\n  "market": "BTC-USDT",\n  "bars": [1, 2,]\n}`;
    expect(() => JSON.parse(text)).toThrow(`Unexpected token ']', ..."s": [1, 2,]\n}" is not valid JSON`);
    const err = refusal(text);
    expect(err.message).toBe("bad.json:3:17: not valid JSON: Unexpected token ']'");
    expect(err.message).not.toContain("\n");
  });
});

describe("parseJsonText: a key held twice in one object is refused", () => {
  it("at the top level, at the second occurrence", () => {
    const text = '{\n  "concurrency": 1,\n  "concurrency": 8\n}\n';
    expect(JSON.parse(text)).toEqual({ concurrency: 8 });
    const err = refusal(text, "CONFIG_INVALID");
    expect(err.message).toBe("bad.json:3:3: duplicate key 'concurrency' (first at line 2)");
    expect([err.code, err.line, err.column]).toEqual(["CONFIG_INVALID", 3, 3]);
    expect(message('{"a": 1, "b": 2, "a": 3}')).toBe("bad.json:1:18: duplicate key 'a' (first at line 1)");
    expect(message('{\r\n  "a": 1,\r\n\r\n  "a": 2\r\n}')).toBe(
      "bad.json:4:3: duplicate key 'a' (first at line 2)",
    );
  });

  it("in an object at any depth, in an array's element among them", () => {
    const text = [
      "{",
      '  "markets": [',
      '    { "market": "BTC-USDT", "model": "a.json" },',
      '    { "market": "ETH-USDT",',
      '      "publishers": { "urls": [], "set": "s.json", "urls": ["x"] } }',
      "  ]",
      "}",
    ].join("\n");
    expect(message(text)).toBe("bad.json:5:52: duplicate key 'urls' (first at line 5)");
    expect(message('[[[{"x": {"y": [{"k": 1,\n"k": 2}]}}]]]')).toBe(
      "bad.json:2:1: duplicate key 'k' (first at line 1)",
    );
  });

  it("keys of different objects are not duplicates: array elements alike, an object and its parent, closed siblings", () => {
    for (const text of [
      '[{"a": 1, "b": 2}, {"a": 1, "b": 2}]',
      '{"markets": [{"market": "A", "model": "m"}, {"market": "B", "model": "m"}]}',
      '{"a": {"a": {"a": 1}}}',
      '{"x": {"a": 1, "b": {"c": 2}}, "a": 2, "b": 3, "c": 4}',
      '{"a": [], "b": {}, "c": [{}], "d": [[{"a": 1}]]}',
      '{"a": 1, "A": 2, "a ": 3, "\\u00e9": 4, "e\\u0301": 5}',
    ]) {
      expect(parseJsonText(text, "ok.json"), text).toEqual(JSON.parse(text));
    }
  });

  it("keys compare as decoded: an escape and the character it stands for are one key", () => {
    for (const [text, key] of [
      ['{"a": 1, "\\u0061": 2}', "a"],
      ['{"\\u0061": 1, "a": 2}', "a"],
      ['{"a/b": 1, "a\\/b": 2}', "a/b"],
      ['{"\u00e9": 1, "\\u00E9": 2}', "\u00e9"],
      ['{"__proto__": 1, "__proto__": 2}', "__proto__"],
      ['{"": 1, "": 2}', ""],
    ] as const) {
      expect(message(text), text).toBe(
        `bad.json:1:${text.lastIndexOf(", ") + 3}: duplicate key '${key}' (first at line 1)`,
      );
    }
  });

  it("in an object of many keys (looked up in a Map past 16), and not across its nested objects", () => {
    const keys = Array.from({ length: 100 }, (_, i) => `"k${i}": ${i}`);
    const many = `{\n${keys.join(",\n")}\n}`;
    expect(Object.keys(parseJsonText(many, "ok.json") as object)).toHaveLength(100);
    expect(message(`{\n${[...keys, '"k3": 0'].join(",\n")}\n}`)).toBe(
      "bad.json:102:1: duplicate key 'k3' (first at line 5)",
    );
    // a large object inside a small one, then the small one's keys again
    const nested = `{"a": 1, "big": {${keys.join(", ")}}, "k3": 3, "b": 2}`;
    expect(parseJsonText(nested, "ok.json")).toEqual(JSON.parse(nested));
    expect(message(`{"a": 1, "big": {${keys.join(", ")}}, "a": 3}`)).toMatch(
      /: duplicate key 'a' \(first at line 1\)$/,
    );
  });

  it("a publisher's hostile key is shown on one line, cut", () => {
    const key = `x\n${"y".repeat(10_000)}`;
    const text = `{${JSON.stringify(key)}: 1, ${JSON.stringify(key)}: 2}`;
    const err = refusal(text);
    const column = text.lastIndexOf('"x') + 1;
    expect(err.message).toBe(`bad.json:1:${column}: duplicate key 'x ${"y".repeat(78)}…' (first at line 1)`);
  });

  it("malformed JSON is named before a duplicate key (JSON.parse reads first)", () => {
    expect(message('{"a": 1, "a": 2,}')).toBe(
      "bad.json:1:17: not valid JSON: Expected double-quoted property name",
    );
    expect(message('[{"a": 1, "a": 2}, tru]')).toBe("bad.json:1:23: not valid JSON: Unexpected token ']'");
  });

  it("walks a text nested 200,000 deep without recursion", () => {
    const DEPTH = 200_000;
    const arrays = "[".repeat(DEPTH) + "]".repeat(DEPTH);
    expect(Array.isArray(parseJsonText(arrays, "deep.json"))).toBe(true);
    const objects = '{"a":'.repeat(DEPTH) + "0" + "}".repeat(DEPTH);
    expect(typeof parseJsonText(objects, "deep.json")).toBe("object");
    const bottom = '{"a":'.repeat(DEPTH) + '{"b": 1,\n"b": 2}' + "}".repeat(DEPTH);
    expect(message(bottom)).toBe("bad.json:2:1: duplicate key 'b' (first at line 1)");
    expect(message("[".repeat(DEPTH) + "]".repeat(DEPTH - 1) + "}")).toBe(
      `bad.json:1:${2 * DEPTH}: not valid JSON: Expected ',' or ']' after array element`,
    );
  });
});

describe("findJsonFault agrees with JSON.parse", () => {
  /** mulberry32: a seeded generator, so that a failure is reproduced by its seed. */
  function random(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const BASES = [
    JSON.stringify(
      { a: [1, -2.5e-3, true, false, null, 'x"\\/\n\u00e9\u{1F600}'], b: { c: {}, d: [] } },
      null,
      2,
    ),
    JSON.stringify([
      { time: 1700000000000, open: "1.5", close: 0.25 },
      { time: 1, open: "-0", close: 1e21 },
    ]),
    '{\r\n  "k": "\\u00e9\\ud83d\\ude00",\r\n  "n": [0, 10, -0.0, 1E+2, 2e-2]\r\n}\r\n',
  ];
  const ALPHABET = ' \t\n\r{}[],:"\\/0123456789-+.eEtrufalsnbx\u0000\u00e9\uFEFF';

  it("on where thousands of mutated texts break (the offset Node states, or the text's end)", () => {
    const next = random(20_260_101);
    const pick = (s: string) => s[Math.floor(next() * s.length)];
    let refused = 0;
    for (let n = 0; n < 6_000; n++) {
      let text = BASES[n % BASES.length];
      for (let edits = 1 + Math.floor(next() * 3); edits > 0; edits--) {
        const at = Math.floor(next() * (text.length + 1));
        const op = next();
        if (op < 0.4) text = text.slice(0, at) + pick(ALPHABET) + text.slice(at);
        else if (op < 0.7) text = text.slice(0, at) + text.slice(at + 1);
        else text = text.slice(0, at) + pick(ALPHABET) + text.slice(at + 1);
      }
      const fault = findJsonFault(text, false);
      let error: string | undefined;
      try {
        JSON.parse(text);
      } catch (err) {
        error = (err as Error).message;
      }
      if (error === undefined) {
        expect(fault, JSON.stringify(text)).toBeUndefined();
        continue;
      }
      refused++;
      expect(fault?.kind, JSON.stringify(text)).toBe("syntax");
      const stated = /at position (\d+)$/.exec(error);
      if (stated !== null) expect(fault?.at, `${JSON.stringify(text)}: ${error}`).toBe(Number(stated[1]));
      if (error === "Unexpected end of JSON input") expect(fault?.at, JSON.stringify(text)).toBe(text.length);
    }
    // most mutations break the text, some do not: both sides are compared
    expect(refused).toBeGreaterThan(3_000);
    expect(refused).toBeLessThan(6_000);
  });

  it("finds no fault in the JSON files the repository writes (models, configs, manifests)", () => {
    for (const value of [{ a: [{ b: 1 }, { b: 2 }] }, [[[]]], "s", 0, null, { "": { "": [] } }]) {
      expect(findJsonFault(JSON.stringify(value, null, 2))).toBeUndefined();
    }
    expect(findJsonFault('{"a": 1, "a": 2}')).toEqual({ kind: "duplicate", key: "a", at: 9, firstAt: 1 });
    expect(findJsonFault('{"a": 1, "a": 2}', false)).toBeUndefined();
  });
});

describe("readJsonFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-json-text-"));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("names the file, the line and the column, with the code it is given", () => {
    const bad = file("bad.json", '{\r\n  "version": 1,\r\n  "quorum": 2\r\n  "keys": []\r\n}\r\n');
    expect(() => readJsonFile(bad, "CONFIG_INVALID")).toThrow(
      `${bad}:4:3: not valid JSON: Expected ',' or '}' after property value`,
    );
    const dup = file("dup.json", '{\n  "version": 1,\n  "keys": [],\n  "version": 2\n}\n');
    const err = thrown(() => readJsonFile(dup, "MODEL_INVALID")) as JsonTextError;
    expect(err).toBeInstanceOf(JsonTextError);
    expect(err.code).toBe("MODEL_INVALID");
    expect(err.message).toBe(`${dup}:4:3: duplicate key 'version' (first at line 2)`);
    expect(readJsonFile(file("ok.json", '{"a": [{"b": 1}, {"b": 2}]}'))).toEqual({ a: [{ b: 1 }, { b: 2 }] });
    expect(() => readJsonFile(join(dir, "missing.json"))).toThrow(
      `${join(dir, "missing.json")}: file not found`,
    );
  });
});

describe("answers of publishers and candle sources: the outcome malformed JSON had, with the line and column", () => {
  const DUPLICATE = '{"version": 3,\n "version": 3}';
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const status = path.includes("/404") ? 404 : 200;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(path.includes("/html") ? "<html>" : DUPLICATE);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("a candle source: a DataError naming the URL or the file", async () => {
    for (const [path, reason] of [
      ["/dup", "line 2, column 2: duplicate key 'version' (first at line 1)"],
      ["/html", "line 1, column 1: not valid JSON: Unexpected token '<'"],
    ]) {
      const error = await fetchJson(`${url}${path}`, 5_000).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(DataError);
      expect((error as Error).message).toBe(`${url}${path}: ${reason}`);
    }
    const error = thrown(() => parseJson("[1,\n2,]", "klines.json"));
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).message).toBe("klines.json:2:3: not valid JSON: Unexpected token ']'");
  });

  it("the audit's publisher source: a window that does not check (invalid)", async () => {
    const at = barTime(110);
    for (const [market, reason] of [
      ["dup", "line 2, column 2: duplicate key 'version' (first at line 1)"],
      ["html", "line 1, column 1: not valid JSON: Unexpected token '<'"],
    ]) {
      const source = `${url}/v1/windows/${market}?at=${at}`;
      const found = await new PublisherArchiveSource(url).lookup(market, marketIdOf("BTC-USDT"), at);
      expect(found).toEqual([{ source, kind: "invalid", reason: `${source}: ${reason}` }]);
    }
  });

  it("the prover service's quorum: invalid for a 200 answer, unreachable for an error answer", async () => {
    const set = await makePublisherSet([await publicKeyOf(privateKeyOf(1))], 1);
    const urls = [`${url}/dup`, `${url}/html`, `${url}/404`];
    const w = new PublisherWindows({
      market: "BTC-USDT",
      set,
      urls,
      timeoutMs: 5_000,
      intervalMs: TWO_HOURS,
      bars: 85,
      log: memoryLog().log,
    });
    const error = await w.collect(barTime(110)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(QuorumError);
    const document = (base: string) => `${base}/v1/windows/BTC-USDT?at=***`;
    expect((error as QuorumError).reports.map((r) => [r.outcome, r.detail])).toEqual([
      ["invalid", `${document(urls[0])}: line 2, column 2: duplicate key 'version' (first at line 1)`],
      ["invalid", `${document(urls[1])}: line 1, column 1: not valid JSON: Unexpected token '<'`],
      ["unreachable", "HTTP 404"],
    ]);
  });

  it("the publisher's archive: a file that does not check, at every read, and at the start's scan", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-json-text-archive-"));
    const markets = [{ market: "BTC-USDT", marketId: marketIdOf("BTC-USDT") }];
    const publicKey = await publicKeyOf(privateKeyOf(1));
    const file = WindowArchive.open(dir, markets, publicKey).fileOf("BTC-USDT", barTime(110));
    writeFileSync(file, '{\n  "version": 3,\n  "market": "BTC-USDT",\n  "market": "ETH-USDT"\n}\n');
    const archive = WindowArchive.open(dir, markets, publicKey);
    const expected = `${file}:4:3: duplicate key 'market' (first at line 3)`;
    for (let k = 0; k < 2; k++)
      await expect(archive.read("BTC-USDT", barTime(110))).rejects.toThrow(expected);
    await expect(archive.scan("BTC-USDT")).rejects.toThrow(expected);
  });
});

describe("zkrisk serve --config FILE --check", () => {
  it("exits 2 naming the file, the line and the key held twice", () => {
    const config = join(mkdtempSync(join(tmpdir(), "zkrisk-json-text-cli-")), "service.json");
    writeFileSync(config, '{\n  "concurrency": 1,\n  "concurrency": 8\n}\n');
    const r = zkrisk("serve", "--config", config, "--check");
    expect([r.code, r.stdout]).toEqual([2, ""]);
    expect(r.stderr).toBe(`zkrisk: ${config}:3:3: duplicate key 'concurrency' (first at line 2)\n`);
    const json = zkrisk("serve", "--config", config, "--check", "--json");
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toEqual({
      error: "CONFIG_INVALID",
      message: `${config}:3:3: duplicate key 'concurrency' (first at line 2)`,
    });
  });
});
