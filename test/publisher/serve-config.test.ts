/**
 * The publisher's config file: defaults and paths, and every refusal naming the file, the field and the value
 * (unknown keys included).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../core/errors";
import {
  loadPublisherConfig,
  parsePublisherConfig,
  PUBLISHER_DEFAULTS,
  redactedPublisherConfig,
} from "../../publisher/serve";
import { tempDir } from "../helpers/publisher-serve";

type Doc = Record<string, unknown> & { markets: Record<string, unknown>[] };

let dir: string;
beforeAll(() => {
  dir = tempDir("publisher-config");
  writeFileSync(join(dir, "publisher.key.json"), "{}");
  writeFileSync(join(dir, "a-file"), "");
  mkdirSync(join(dir, "keys"));
});

/** A valid document, edited by `edit`. */
function doc(edit: (d: Doc) => void = () => {}): Doc {
  const d: Doc = {
    key: "publisher.key.json",
    archive: "archive",
    markets: [{ market: "BTC-USDT", intervalMs: 7_200_000, source: { csv: "feeds/btc.csv" } }],
  };
  edit(d);
  return d;
}

/**
 * A valid document with `batches`, over the markets `labels` (default: BTC-USDT, ETH-USDT and SOL/USDT of
 * 2 h bars, and BTC-1H of 1 h bars).
 */
function withBatches(batches: unknown[], labels?: string[]): Doc {
  return doc((d) => {
    d.markets = (labels ?? ["BTC-USDT", "ETH-USDT", "SOL/USDT"]).map((market) => ({
      market,
      intervalMs: 7_200_000,
      source: { csv: "feeds/btc.csv" },
    }));
    if (labels === undefined)
      d.markets.push({ market: "BTC-1H", intervalMs: 3_600_000, source: { csv: "feeds/btc-1h.csv" } });
    d.batches = batches;
  });
}

/** The ConfigError message parsing `value` gives. */
function refusal(value: unknown): string {
  try {
    parsePublisherConfig(value, "publisher.json", dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe("CONFIG_INVALID");
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("publisher config", () => {
  it("fills the defaults and takes relative paths from the config file's directory", () => {
    const cfg = parsePublisherConfig(doc(), "publisher.json", dir);
    expect(cfg).toEqual({
      file: "publisher.json",
      key: join(dir, "publisher.key.json"),
      archive: join(dir, "archive"),
      pollSeconds: PUBLISHER_DEFAULTS.pollSeconds,
      listen: { host: "127.0.0.1", port: 8090 },
      markets: [
        {
          market: "BTC-USDT",
          marketId: 0x4254432d55534454n,
          intervalMs: 7_200_000,
          source: { kind: "csv", path: join(dir, "feeds/btc.csv") },
          backfillBars: 1,
        },
      ],
      batches: [],
    });
  });

  it("reads every field: listen, poll interval, backfill and the three kinds of source", () => {
    const cfg = parsePublisherConfig(
      doc((d) => {
        d.listen = { host: "0.0.0.0", port: 0 };
        d.pollSeconds = 0.5;
        d.markets = [
          {
            market: "BTC-USDT",
            intervalMs: 7_200_000,
            source: { klines: "klines/btc.json" },
            backfillBars: 12,
          },
          {
            market: "ETH-USDT",
            intervalMs: 3_600_000,
            source: { klines: "https://api.binance.com/api/v3/klines?symbol=ETHUSDT&interval=1h&key=s3cret" },
          },
          {
            market: "SOL/USDT",
            intervalMs: 60_000,
            source: { url: "http://127.0.0.1:9000/c", timeoutMs: 500 },
          },
        ];
      }),
      "publisher.json",
      dir,
    );
    expect(cfg.listen).toEqual({ host: "0.0.0.0", port: 0 });
    expect(cfg.pollSeconds).toBe(0.5);
    expect(cfg.markets.map((m) => [m.market, m.intervalMs, m.backfillBars, m.source])).toEqual([
      ["BTC-USDT", 7_200_000, 12, { kind: "klines-file", path: join(dir, "klines/btc.json") }],
      [
        "ETH-USDT",
        3_600_000,
        1,
        {
          kind: "klines-http",
          url: "https://api.binance.com/api/v3/klines?symbol=ETHUSDT&interval=1h&key=s3cret",
          timeoutMs: 10_000,
        },
      ],
      ["SOL/USDT", 60_000, 1, { kind: "http", url: "http://127.0.0.1:9000/c", timeoutMs: 500 }],
    ]);
    // Printed without the URL's query values.
    const shown = JSON.stringify(redactedPublisherConfig(cfg));
    expect(shown).not.toContain("s3cret");
    expect(shown).toContain("key=***");
  });

  it("refuses unknown keys at every level, listing the keys it knows", () => {
    expect(refusal(doc((d) => (d.pollSecs = 5)))).toBe(
      "publisher.json: pollSecs: unknown key (expected one of key, archive, pollSeconds, listen, markets, batches)",
    );
    expect(refusal(doc((d) => (d.listen = { hots: "0.0.0.0" })))).toBe(
      "publisher.json: listen.hots: unknown key (expected one of host, port)",
    );
    expect(refusal(doc((d) => (d.markets[0].interval = 7_200_000)))).toBe(
      "publisher.json: markets[0].interval: unknown key (expected one of market, intervalMs, source, backfillBars)",
    );
    expect(refusal(doc((d) => (d.markets[0].source = { csv: "a.csv", timeout: 5 })))).toBe(
      "publisher.json: markets[0].source.timeout: unknown key (expected one of csv, url, klines, timeoutMs)",
    );
    expect(refusal(doc((d) => (d.batches = [{ batch: "majors", markets: [], market: "x" }])))).toBe(
      "publisher.json: batches[0].market: unknown key (expected one of batch, markets)",
    );
  });

  it("names the file, the field and the value of every bad field", () => {
    const cases: [(d: Doc) => void, string][] = [
      [(d) => delete d.archive, "archive: missing"],
      [(d) => (d.key = "nokey.json"), `key: file ${join(dir, "nokey.json")} does not exist`],
      [(d) => (d.key = "keys"), `key: ${join(dir, "keys")} is a directory, not a file`],
      [(d) => (d.archive = "a-file"), `archive: ${join(dir, "a-file")} is a file, not a directory`],
      [(d) => (d.archive = ""), "archive: expected a non-empty string"],
      [(d) => (d.pollSeconds = 0), "pollSeconds: expected a number in [0.1, 3600], got 0"],
      [(d) => (d.pollSeconds = "10"), 'pollSeconds: expected a finite number, got "10"'],
      [(d) => (d.listen = { port: 70_000 }), "listen.port: expected an integer in [0, 65535], got 70000"],
      [(d) => (d.listen = { host: "" }), "listen.host: expected a non-empty string"],
      [(d) => (d.markets = []), "markets: expected at least one market"],
      [(d) => ((d as Record<string, unknown>).markets = {}), "markets: expected an array, got object"],
      [(d) => (d.markets[0].intervalMs = "2h"), 'markets[0].intervalMs: expected a finite number, got "2h"'],
      [
        (d) => (d.markets[0].intervalMs = 500),
        "markets[0].intervalMs: expected an integer in [1000, 4294967295], got 500",
      ],
      [
        (d) => (d.markets[0].backfillBars = 0),
        "markets[0].backfillBars: expected an integer in [1, 10000], got 0",
      ],
      [(d) => delete d.markets[0].source, "markets[0].source: missing"],
      [
        (d) => (d.markets[0].source = { csv: "a.csv", klines: "k.json" }),
        'markets[0].source: expected exactly one of "csv", "url" or "klines"',
      ],
      [
        (d) => (d.markets[0].source = { url: "file:///etc/passwd" }),
        'markets[0].source.url: expected an http(s) URL, got "file:///etc/passwd"',
      ],
      [
        (d) => (d.markets[0].source = { klines: "k.json", timeoutMs: 500 }),
        'markets[0].source.timeoutMs: only applies to a "url" source or a "klines" URL',
      ],
      [(d) => (d.markets[0].market = ""), "markets[0].market: '' is empty: name the market, e.g. BTC-USDT"],
      [
        (d) => (d.markets[0].market = " BTC-USDT"),
        "markets[0].market: ' BTC-USDT' has spaces around it, which would make it another market's id",
      ],
      [
        (d) => (d.markets[0].market = "BTC-USDT-PERPETUAL-ON-SOME-EXCHANGE"),
        "markets[0].market: 'BTC-USDT-PERPETUAL-ON-SOME-EXCHANGE' must be a number or printable ASCII of at " +
          "most 31 bytes",
      ],
      [
        (d) => d.markets.push({ ...d.markets[0], source: { csv: "b.csv" } }),
        'markets[1].market: duplicate market "BTC-USDT": already markets[0].market',
      ],
      [
        (d) => d.markets.push({ ...d.markets[0], market: "4779518966531048532" }),
        'markets[1].market: duplicate market "4779518966531048532" (the same field element as "BTC-USDT"): ' +
          "already markets[0].market",
      ],
      [
        (d) => d.markets.push({ ...d.markets[0], market: "btc-usdt" }),
        'markets[1].market: "btc-usdt" would share its archive directory with markets[0] ("BTC-USDT"; ' +
          "directory names ignore case)",
      ],
    ];
    for (const [edit, message] of cases) expect(refusal(doc(edit))).toBe(`publisher.json: ${message}`);
    expect(refusal([])).toBe("publisher.json: (root): expected an object, got []");
  });

  it("reads the batches: label and markets as written, listed by --check", () => {
    const cfg = parsePublisherConfig(
      withBatches([{ batch: "majors.2h_v1", markets: ["SOL/USDT", "BTC-USDT"] }]),
      "publisher.json",
      dir,
    );
    expect(cfg.batches).toEqual([{ batch: "majors.2h_v1", markets: ["SOL/USDT", "BTC-USDT"] }]);
    expect(redactedPublisherConfig(cfg).batches).toEqual([
      { batch: "majors.2h_v1", markets: ["SOL/USDT", "BTC-USDT"] },
    ]);
    const eight = Array.from({ length: 8 }, (_, i) => `M${i}`);
    const many = withBatches([{ batch: "all", markets: eight }], eight);
    expect(parsePublisherConfig(many, "publisher.json", dir).batches[0].markets).toEqual(eight);
    expect(parsePublisherConfig(withBatches([]), "publisher.json", dir).batches).toEqual([]);
  });

  it("refuses a bad batch, naming the file, the field and the value", () => {
    const majors = (markets: unknown) => withBatches([{ batch: "majors", markets }]);
    const cases: [unknown, string][] = [
      [withBatches({ batch: "majors" } as unknown as unknown[]), "batches: expected an array, got object"],
      [withBatches([{ markets: ["BTC-USDT", "ETH-USDT"] }]), "batches[0].batch: missing"],
      [withBatches([{ batch: "majors" }]), "batches[0].markets: missing"],
      [
        withBatches([{ batch: 7, markets: ["BTC-USDT", "ETH-USDT"] }]),
        "batches[0].batch: expected a string, got 7",
      ],
      ...["", "_batches", "maj/ors", ".majors", "m".repeat(32), "majörs"].map((label): [unknown, string] => [
        withBatches([{ batch: label, markets: ["BTC-USDT", "ETH-USDT"] }]),
        'batches[0].batch: expected a label of 1 to 31 letters, digits, ".", "_" or "-", starting with a ' +
          `letter or digit, got ${JSON.stringify(label)}`,
      ]),
      [
        withBatches([
          { batch: "majors", markets: ["BTC-USDT", "ETH-USDT"] },
          { batch: "majors", markets: ["BTC-USDT", "SOL/USDT"] },
        ]),
        'batches[1].batch: duplicate batch "majors": already batches[0].batch',
      ],
      [
        withBatches([
          { batch: "majors", markets: ["BTC-USDT", "ETH-USDT"] },
          { batch: "Majors", markets: ["BTC-USDT", "SOL/USDT"] },
        ]),
        'batches[1].batch: duplicate batch "Majors": already batches[0].batch ("majors"; labels ignore case)',
      ],
      [majors("BTC-USDT"), "batches[0].markets: expected an array, got string"],
      [majors([]), "batches[0].markets: expected 2 to 32 markets, got 0"],
      [majors(["BTC-USDT"]), 'batches[0].markets: expected 2 to 32 markets, got 1 (["BTC-USDT"])'],
      [
        withBatches(
          [{ batch: "all", markets: Array.from({ length: 33 }, (_, i) => `M${i}`) }],
          Array.from({ length: 33 }, (_, i) => `M${i}`),
        ),
        `batches[0].markets: expected 2 to 32 markets, got 33 (${JSON.stringify(
          Array.from({ length: 33 }, (_, i) => `M${i}`),
        )})`,
      ],
      [majors(["BTC-USDT", 5]), "batches[0].markets[1]: expected a string, got 5"],
      [
        majors(["BTC-USDT", "XRP-USDT"]),
        'batches[0].markets[1]: "XRP-USDT" is not one of this config\'s markets (BTC-USDT, ETH-USDT, SOL/USDT, BTC-1H)',
      ],
      [
        majors(["BTC-USDT", "ETH-USDT", "BTC-USDT"]),
        'batches[0].markets[2]: duplicate market "BTC-USDT": already batches[0].markets[0]',
      ],
      [
        majors(["BTC-USDT", "BTC-1H"]),
        'batches[0].markets[1]: "BTC-1H" has bars of 3600000 ms (markets[3].intervalMs), but "BTC-USDT" has ' +
          "bars of 7200000 ms (a batch's markets share one bar interval)",
      ],
    ];
    for (const [value, message] of cases) expect(refusal(value)).toBe(`publisher.json: ${message}`);
  });

  it("names the file that cannot be read or is not JSON", () => {
    const broken = join(dir, "broken.json");
    writeFileSync(broken, '{"key": ');
    expect(() => loadPublisherConfig(broken)).toThrow(
      new RegExp(`^${broken}:1:9: not valid JSON: Unexpected end of JSON input$`),
    );
    expect(() => loadPublisherConfig(join(dir, "none.json"))).toThrow(ConfigError);
    const good = join(dir, "publisher.json");
    writeFileSync(good, JSON.stringify(doc()));
    expect(loadPublisherConfig(good).archive).toBe(join(dir, "archive"));
  });
});
