import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildCalibrations, formatCalibrate, runCalibrate } from "../../cli/commands/calibrate";
import { CALIBRATION_MARKETS } from "../../cli/register/calibrate";
import {
  CALIBRATIONS_FORMAT,
  calibrationFor,
  fitNum,
  loadCalibrations,
  marketOfDataFile,
  marketOfFile,
  resolveMarket,
  mmWithNum,
  parseCalibrations,
} from "../../models/market-calibrations";
import { sha256File } from "../../core/io";
import { loadQuantizedModel } from "../../models/quantized-model";

const ROOT = join(__dirname, "../..");
const FILE = join(ROOT, "models/calibrations.json");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");

describe("per-market calibrations", () => {
  const shipped = JSON.parse(readFileSync(FILE, "utf8")) as Record<string, unknown>;

  it("the shipped file names the shipped model and has the eight markets, none with BTC's scale by default", () => {
    const c = loadCalibrations(FILE, sha256File(MODEL));
    expect(c.markets.map((m) => m.market)).toEqual([
      "BTC-USDT",
      "ETH-USDT",
      "SOL-USDT",
      "XRP-USDT",
      "BNB-USDT",
      "ADA-USDT",
      "LINK-USDT",
      "LTC-USDT",
    ]);
    // BTC's own calibration equals the model file's (both fitted on BTC's 2022).
    expect(c.markets[0].num).toBe(loadQuantizedModel(MODEL).policy.calibrationNum);
    // A new market gets the largest fitted scale, not BTC's.
    expect(c.newMarketNum).toBe(Math.max(...c.markets.map((m) => m.num)));
    expect(calibrationFor(c, "DOGE-USDT")).toEqual({ num: c.newMarketNum, source: "new-market rule" });
    expect(calibrationFor(c, "ETH-USDT")).toEqual({
      num: c.markets[1].num,
      source: "fitted",
      fittedOn: { from: "2022-01-01T00:00:00.000Z", to: "2022-12-30T22:00:00.000Z" },
    });
    for (const m of c.markets) expect(m.validationBreachRate).toBeLessThanOrEqual(0.01);
  });

  it("is reproduced exactly by `zkrisk calibrate` (npm run train)", () => {
    const rebuilt = buildCalibrations(MODEL, CALIBRATION_MARKETS);
    expect(JSON.parse(JSON.stringify(rebuilt))).toEqual(shipped);
  }, 300_000);

  it("refuses two files of one market before fitting anything", () => {
    const btc = join(__dirname, "../../models/data/btcusdt-2h.csv");
    // An empty file: refused by its name before it is read.
    const copy = join(mkdtempSync(join(tmpdir(), "zkrisk-data-")), "BTCUSDT-2h.csv");
    writeFileSync(copy, "");
    expect(() => buildCalibrations(MODEL, [btc, copy])).toThrow(
      /--data: .*btcusdt-2h\.csv and .*zkrisk-data-.*\/BTCUSDT-2h\.csv are both market BTC-USDT/,
    );
  });

  it("rejects unknown keys, another model, bad numbers and duplicate markets, naming the field", () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form edits of a JSON document
    type Doc = Record<string, any>;
    const bad = (edit: (d: Doc) => void) => {
      const d = JSON.parse(JSON.stringify(shipped)) as Doc;
      edit(d);
      return () => parseCalibrations(d, "cal.json", sha256File(MODEL));
    };
    expect(bad((d) => (d.extra = 1))).toThrow(/cal\.json: extra: unknown key/);
    expect(bad((d) => (d.markets[0].scale = 1))).toThrow(/markets\[0\]\.scale: unknown key/);
    expect(bad((d) => (d.adaptive.speed = 1))).toThrow(/adaptive\.speed: unknown key/);
    expect(bad((d) => (d.model.sha256 = "0".repeat(64)))).toThrow(/another model/);
    expect(bad((d) => (d.markets[2].num = -5))).toThrow(/markets\[2\]\.num/);
    expect(bad((d) => (d.markets[1].market = "BTC-USDT"))).toThrow(/duplicate market BTC-USDT/);
    expect(bad((d) => (d.adaptive.minNum = d.adaptive.maxNum + 1))).toThrow(/adaptive/);
    expect(bad((d) => d.adaptive.upNums.pop())).toThrow(/adaptive\.upNums: expected 4 entries/);
    expect(bad((d) => (d.adaptive.downShiftStart = d.adaptive.downShift + 1))).toThrow(
      /adaptive\.downShiftStart: must be <= downShift/,
    );
    expect(bad((d) => (d.format = "zkrisk-calibrations/0"))).toThrow(
      /cal\.json: format: expected zkrisk-calibrations\/2, got "zkrisk-calibrations\/0"/,
    );
  });

  it("refuses a zkrisk-calibrations/1 file (fixed-step adaptive block) by its format, not by a key", () => {
    // The shipped file as format /1 wrote it: the same markets, the fixed-step rule of /1.
    const v1 = {
      ...shipped,
      format: "zkrisk-calibrations/1",
      adaptive: { downShift: 11, upNum: 3247, upShift: 16, minNum: 16384, maxNum: 262144 },
    };
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-cal-"));
    const file = join(dir, "calibrations.json");
    writeFileSync(file, JSON.stringify(v1));
    let message = "";
    try {
      loadCalibrations(file, sha256File(MODEL));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`${file}: format: expected zkrisk-calibrations/2, got "zkrisk-calibrations/1"`);
    expect(message).toContain("zkrisk calibrate");
    expect(message).not.toMatch(/unknown key/);
    // Refused by the format even if its top-level keys were ones /2 does not know.
    expect(() => parseCalibrations({ ...v1, extra: 1 }, "cal.json")).toThrow(
      /cal\.json: format: expected zkrisk-calibrations\/2, got "zkrisk-calibrations\/1"/,
    );
    // The shipped file is /2, and the writer writes /2.
    expect(shipped.format).toBe("zkrisk-calibrations/2");
    expect(CALIBRATIONS_FORMAT).toBe("zkrisk-calibrations/2");
  });

  it("fitNum is the smallest num with at most 1 % breaches (hand-made rows)", () => {
    const policy = loadQuantizedModel(MODEL).policy;
    // Output y giving about 100 bps at num = 2^16; 200 rows of targets 2, 4, ..., 400 bps: at most 2 breaches
    // allowed, so MM must reach the third largest target (396 bps).
    const y = (100n << BigInt(policy.mmShift)) / (65536n * 10000n) + 1n;
    const targets = Array.from({ length: 200 }, (_, i) => (i + 1) * 0.0002); // 2 bps .. 400 bps
    const outputs = targets.map(() => y);
    const num = fitNum(policy, outputs, targets);
    const breaches = (n: number) => targets.filter((t) => t > mmWithNum(policy, y, n) / 10000).length;
    expect(breaches(num)).toBeLessThanOrEqual(2);
    expect(breaches(num - 1)).toBeGreaterThan(2);
    // The third largest target is 396 bps: num ~ 3.96 * 2^16.
    expect(mmWithNum(policy, y, num)).toBe(396);
  });

  it("tells a market from a candle file's name", () => {
    expect(marketOfFile("models/data/ethusdt-2h.csv")).toBe("ETH-USDT");
    expect(marketOfFile("/x/LINKUSDT-2h.csv")).toBe("LINK-USDT");
    expect(marketOfFile("derived.csv")).toBeUndefined();
  });

  it("calibrate says which markets it could not fit and what the new-market scale is the largest of", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-calibrate-"));
    // SOL's first months, relabelled: a market listed too late for the 2022 validation split.
    const sol = readFileSync(join(__dirname, "../../models/data/solusdt-2h.csv"), "utf8").split("\n");
    const pepe = join(dir, "pepeusdt-2h.csv");
    writeFileSync(pepe, sol.slice(0, 1500).join("\n") + "\n");
    const btc = join(__dirname, "../../models/data/btcusdt-2h.csv");
    const r = await runCalibrate({ model: MODEL, data: [btc, pepe], out: join(dir, "c.json"), json: true });
    expect(r.notFitted).toEqual(["PEPE-USDT"]);
    expect(r.markets.map((m) => m.market)).toEqual(["BTC-USDT"]);
    const text = formatCalibrate(r);
    expect(text).toMatch(/PEPE-USDT \(not fitted\) +new-market rule/);
    expect(text).toContain(
      "the new-market scale is the largest fitted here, of BTC-USDT: BTC-USDT's own scale; not fitted (fewer " +
        "than 2160 usable validation bars): PEPE-USDT",
    );
    await expect(
      runCalibrate({ model: MODEL, data: [pepe], out: join(dir, "c2.json"), json: true }),
    ).rejects.toThrow(
      "--data: no market has 2160 usable bars in the model's validation split (2022-01-01 .. 2022-12-30): PEPE-USDT",
    );
  }, 120_000);

  it("refuses a --data path that is a directory, missing, or names no market, saying which", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-data-"));
    const folder = join(dir, "ethusdt-2h.csv");
    mkdirSync(folder);
    expect(() => marketOfDataFile("--data", folder)).toThrow(
      `--data: '${folder}' is a directory, not a file`,
    );
    expect(() => marketOfDataFile("--data", join(dir, "btcusdt-2h.csv"))).toThrow("file not found");
    const derived = join(dir, "derived.csv");
    writeFileSync(derived, "");
    expect(() => marketOfDataFile("--data", derived)).toThrow("cannot tell its market from the name");
    const eth = join(dir, "ETHUSDT-2h.csv");
    writeFileSync(eth, "");
    expect(marketOfDataFile("--data", eth)).toBe("ETH-USDT");
  });

  it("resolves a backtest's market to a calibrated one however the file or --market spells it", () => {
    const known = ["BTC-USDT", "ETH-USDT", "LINK-USDT"];
    for (const file of ["btcusdt-2h-2025.csv", "/d/BTC-USDT-2h.csv", "BTCUSDT_2h.csv", "btc_usdt.csv"])
      expect(resolveMarket(file, undefined, known), file).toBe("BTC-USDT");
    for (const label of ["btcusdt", "BTC_USDT", "btc-usdt", "BTC-USDT"])
      expect(resolveMarket("x.csv", label, known), label).toBe("BTC-USDT");
    // Not a calibrated market: the label as given, or marketOfFile's, or the file name.
    expect(resolveMarket("x.csv", "DOGE/USDT", known)).toBe("DOGE/USDT");
    expect(resolveMarket("/d/dogeusdt-2h.csv", undefined, known)).toBe("DOGE-USDT");
    expect(resolveMarket("/d/derived.csv", undefined, known)).toBe("derived.csv");
    // A name that only contains a known market's letters later on is not that market.
    expect(resolveMarket("ethbtc-2h.csv", undefined, known)).toBe("ethbtc-2h.csv");
    expect(resolveMarket("wbtcusdt-2h.csv", undefined, known)).toBe("WBTC-USDT");
  });
});
