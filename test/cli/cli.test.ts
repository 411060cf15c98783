import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { fixedPointText, PRICE_DECIMALS, toFixedPoint } from "../../candles/integer-candle";
import { loadCandles } from "../../candles/load-data";
import { inferBar } from "../../models/predict";
import { loadQuantizedModel } from "../../models/quantized-model";
import { BASELINE_NAMES, goalSummary, type GoalInput, type GoalVerdict } from "../../models/backtest";
import { zkrisk } from "../helpers/zkrisk-cli";
import { FIELD_MODULUS } from "../../crypto/field";

const ROOT = join(__dirname, "../..");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");

function json(args: string[]): Record<string, unknown> {
  const r = zkrisk(...args, "--json");
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

/**
 * The candle file with the rows kept by `keep` and prices divided by 10^`shift` exactly, as decimals (another
 * "asset"; the integer candles hold 8 decimals, so the prices of 2 decimals take a shift up to 6).
 */
function derivedCandles(keep: (timestamp: string) => boolean, shift: number): string {
  const [header, ...rows] = readFileSync(DATA, "utf8").trim().split("\n");
  const out = rows
    .filter((r) => keep(r.slice(0, 19)))
    .map((r) => {
      const [ts, o, h, l, c, v] = r.split(",");
      const scaled = (x: string) =>
        fixedPointText(toFixedPoint(Number(x), PRICE_DECIMALS)!, PRICE_DECIMALS + shift);
      return [ts, ...[o, h, l, c].map(scaled), v].join(",");
    });
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-cli-"));
  const file = join(dir, "derived.csv");
  writeFileSync(file, [header, ...out].join("\n") + "\n");
  return file;
}

describe("zkrisk CLI", () => {
  it("backtest --json prints one object of the documented shape", () => {
    const r = json(["backtest", "--from", "2023-01-01", "--to", "2023-12-31"]);
    expect(Object.keys(r)).toEqual(expect.arrayContaining(["period", "bars", "models"]));
    expect(r.period).toEqual({ from: "2023-01-01T00:00:00.000Z", to: "2023-12-31T22:00:00.000Z" });
    expect(Number.isInteger(r.bars)).toBe(true);
    const models = r.models as Record<string, number | string>[];
    expect(models.map((m) => m.name)).toEqual([
      "zkrisk-quantized",
      "static-q99",
      "ewma-0.94",
      "rolling-90d-q99",
    ]);
    for (const m of models) {
      expect(Object.keys(m)).toEqual(
        expect.arrayContaining([
          "name",
          "breachRate",
          "kupiecP",
          "avgMaintenanceMarginBps",
          "avgInitialMarginBps",
          "matchedAvgMaintenanceMarginBps",
        ]),
      );
      // Scaled to 1 % in hindsight: a positive, finite average (the scale of the model's own margins).
      expect(Number(m.matchedAvgMaintenanceMarginBps)).toBeGreaterThan(0);
      expect(Number.isFinite(Number(m.matchedAvgMaintenanceMarginBps))).toBe(true);
      expect(m.breachRate).toBeGreaterThanOrEqual(0);
      expect(m.breachRate).toBeLessThanOrEqual(1);
      expect(m.kupiecP).toBeGreaterThanOrEqual(0);
      expect(m.kupiecP).toBeLessThanOrEqual(1);
      // IM = ceil(1.5 * MM) per bar, clamped; on average it sits at about 1.5 x MM.
      expect(Number(m.avgInitialMarginBps)).toBeGreaterThan(1.4 * Number(m.avgMaintenanceMarginBps));
    }
  });

  it("backtest works on a market the model never saw (prices x 1/1000, recent period only)", () => {
    const file = derivedCandles((ts) => ts >= "2022-06-01", 3);
    // The file's name tells no market: name it, so it runs with BTC's calibration like the original.
    const r = json(["backtest", "--data", file, "--market", "BTC-USDT", "--from", "2023-06-01"]);
    expect((r.models as { name: string }[]).length).toBe(4);
    // The features are ratios of prices, exact in integers, so the model's margins are those on the original
    // prices, bar for bar.
    const original = json(["backtest", "--from", "2023-06-01"]);
    const mine = (x: Record<string, unknown>) => (x.models as Record<string, number>[])[0];
    expect(r.bars).toBe(original.bars);
    // Bar for bar the same margins and breaches; the shortfall in bps goes through float targets computed from
    // the scaled prices, so it agrees to rounding.
    const { maxShortfallBps: a, ...restMine } = mine(r);
    const { maxShortfallBps: b, ...restOriginal } = mine(original);
    expect(restMine).toEqual(restOriginal);
    expect(a).toBeCloseTo(b, 6);
    expect((r as { baselineTraining: { source: string } }).baselineTraining.source).toBe(
      "file-before-period",
    );
  });

  it("infer --json gives the integer engine's margins for the requested bar", () => {
    const r = json(["infer", "--at", "2024-03-05 14:00"]);
    expect(r.bar).toBe("2024-03-05T14:00:00.000Z");
    const series = loadCandles(DATA);
    const model = loadQuantizedModel(MODEL);
    const index = series.candles.findIndex((c) => c.time === Date.UTC(2024, 2, 5, 14));
    const direct = inferBar(model, series, index);
    expect(r.maintenanceMarginBps).toBe(Number(direct.trace.maintenanceMarginBps));
    expect(r.initialMarginBps).toBe(Number(direct.trace.initialMarginBps));
    const features = r.features as { name: string; quantized: string }[];
    expect(features.map((f) => f.name)).toEqual(model.features.map((f) => f.name));
    expect(features.map((f) => BigInt(f.quantized))).toEqual(direct.featuresInt);
  });

  it("infer names the candles' market and the model's calibration, and says when the model file is another market's", () => {
    const own = json(["infer"]);
    expect(own).toMatchObject({ market: "BTC-USDT", dataMarket: "BTC-USDT", calibrationNum: 49021 });
    expect(own.note).toBeUndefined();
    const eth = join(__dirname, "../../models/data/ethusdt-2h.csv");
    const other = json(["infer", "--data", eth]);
    expect(other).toMatchObject({ market: "BTC-USDT", dataMarket: "ETH-USDT", calibrationNum: 49021 });
    expect(other.note).toContain("these margins use BTC-USDT's calibration");
    const text = zkrisk("infer", "--data", eth);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^ETH-USDT bar \S+ \(model of BTC-USDT, calibration 49021\/2\^16 = 0\.7480\)\nnote: /,
    );
    expect(text.stdout).toContain("`zkrisk market-model --market ETH-USDT`");
  });

  it("trains, quantises and backtests a model of its own on the window features", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-cli-"));
    const floatPath = join(dir, "f.json");
    const qPath = join(dir, "f.quantized.json");
    const trained = json(["train", "--epochs", "3", "--hidden", "4", "--out", floatPath]);
    expect((trained.training as { epochs: number }).epochs).toBe(3);
    const q = json(["quantize", "--model", floatPath, "--out", qPath]);
    // Range bits of the window features' declared bounds at 2^32: [0, 2) x 5, [0, 128), [0, 1), [0, 4).
    expect(q.features).toEqual([33, 33, 33, 33, 33, 39, 32, 34]);
    const r = json(["backtest", "--model", qPath, "--from", "2023-01-01"]);
    expect((r.models as unknown[]).length).toBe(4);
    // The funding option went with the funding features.
    const funding = zkrisk("train", "--funding", DATA, "--out", floatPath);
    expect(funding.code).toBe(2);
    expect(funding.stderr).toContain("unknown option '--funding'");
  });

  it("refuses a model whose features are not the window features, naming them", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-cli-"));
    const float = JSON.parse(readFileSync(join(ROOT, "models/btc-usdt-2h.float.json"), "utf8"));
    float.features[3].name = "parkinson_1d";
    const floatPath = join(dir, "old.float.json");
    writeFileSync(floatPath, JSON.stringify(float));
    const r = zkrisk("quantize", "--model", floatPath, "--out", join(dir, "old.quantized.json"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${floatPath}: its features (rv_1d, rv_3d5, rv_7d, parkinson_1d, abs_return, volume_ratio_7d, drawdown_7d, ` +
        "volvol_7d) are not the window features (rv_1d, rv_3d5, rv_7d, range_1d, ",
    );
    const backtest = zkrisk("backtest", "--model", floatPath, "--from", "2023-01-01");
    expect(backtest.code).toBe(2);
    expect(backtest.stderr).toContain("are not the window features");
  });

  it("bad input exits with code 2 and a message naming the option, file or line", () => {
    const badDate = zkrisk("backtest", "--from", "2023-13-01");
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain("--from: '2023-13-01' is not a UTC date");

    const missing = zkrisk("infer", "--data", "/nonexistent/candles.csv");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("/nonexistent/candles.csv");

    const dir = mkdtempSync(join(tmpdir(), "zkrisk-cli-"));
    const broken = join(dir, "broken.csv");
    writeFileSync(
      broken,
      "timestamp,open,high,low,close,volume\n2024-01-01 00:00:00,1,2,0.5,1.5,10\n2024-01-01 02:00:00,1,0.4,0.5,1,10\n",
    );
    const bad = zkrisk("infer", "--data", broken);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`${broken}:3: `));

    const noBar = zkrisk("infer", "--at", "2024-03-05 15:00");
    expect(noBar.code).toBe(2);
    expect(noBar.stderr).toContain("--at: no bar opens at 2024-03-05T15:00:00.000Z");

    const unknown = zkrisk("backtest", "--nope");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--nope'");

    // Margins for 48 h: daily samples would overlap and the baselines would see moves not yet known.
    const h24 = join(dir, "h24.quantized.json");
    writeFileSync(h24, JSON.stringify({ ...JSON.parse(readFileSync(MODEL, "utf8")), targetHorizonBars: 24 }));
    const horizon = zkrisk("backtest", "--model", h24, "--from", "2024-01-01");
    expect(horizon.code).toBe(2);
    expect(horizon.stderr).toBe(
      `zkrisk: --model: ${h24}: the backtest judges margins for the move of the next 12 bars (non-overlapping ` +
        "daily samples, baselines fitted on moves known by then); this model's margins are for 24 bars " +
        "(targetHorizonBars)\n",
    );
  });
});

describe("zkrisk backtest: any length, several markets, series and report", () => {
  it("runs on a few months of a market: the model is evaluated, the baselines that cannot be fitted are unavailable", () => {
    const file = derivedCandles((ts) => ts >= "2024-03-01", 0);
    const r = json(["backtest", "--data", file]);
    expect((r.models as { name: string }[]).map((m) => m.name)).toEqual(["zkrisk-quantized"]);
    const unavailable = r.unavailable as { name: string; reason: string }[];
    expect(unavailable.map((u) => u.name)).toEqual(["static-q99", "ewma-0.94", "rolling-90d-q99"]);
    expect(unavailable[0].reason).toContain("needs 1000 fully observed bars");
    expect(unavailable[2].reason).toContain("not enough history");
    // An unknown market runs with the new-market rule, not BTC's scale.
    expect(r.calibration).toMatchObject({ source: "new-market rule" });
    expect(r.bars).toBeGreaterThan(1000);
    // About 120 days: fewer daily samples than the test needs to reject even a margin that never breaches.
    const m = (r.models as { coverage: string; coverageValid: boolean; daily: { samples: number } }[])[0];
    expect(m.daily.samples).toBeLessThan(192);
    expect(m).toMatchObject({ coverage: "too short", coverageValid: false });
    const text = zkrisk("backtest", "--data", file);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/zkrisk-quantized .* too short\n/);
    expect(text.stdout).toContain("static and EWMA baselines not fitted");
    expect(text.stdout).toContain("on at least 192 daily samples");
  });

  it("two markets with the adaptive rule: --json, --series and --report agree (one breach marker per breach)", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-report-"));
    const series = join(dir, "series.csv");
    const report = join(dir, "report.html");
    const eth = join(ROOT, "models/data/ethusdt-2h.csv");
    const r = json([
      "backtest",
      "--data",
      DATA,
      eth,
      "--from",
      "2024-03-01",
      "--adaptive",
      "--miss-rate",
      "0.1",
      "--series",
      series,
      "--report",
      report,
    ]);
    const markets = r.markets as {
      market: string;
      bars: number;
      calibration: { source: string; num: number; shift: number };
      models: {
        name: string;
        breaches: number;
        matchedAvgMaintenanceMarginBps: number;
        daily: { offsets: unknown[] };
      }[];
    }[];
    expect(markets.map((m) => m.market)).toEqual(["BTC-USDT", "ETH-USDT"]);
    expect(markets.every((m) => m.calibration.source === "fitted")).toBe(true);
    expect(markets[0].models.map((m) => m.name).slice(0, 2)).toEqual([
      "zkrisk-quantized",
      "zkrisk-quantized-adaptive",
    ]);
    expect(markets[0].models[0].daily.offsets).toHaveLength(12);
    const pooled = r.pooled as {
      name: string;
      bars: number;
      breaches: number;
      matchedAvgMaintenanceMarginBps: number;
    }[];
    expect(pooled[0].bars).toBe(markets[0].bars + markets[1].bars);
    // Pooled hindsight MM: each market scaled on its own bars, bar-weighted.
    expect(pooled[0].matchedAvgMaintenanceMarginBps).toBeCloseTo(
      (markets[0].models[0].matchedAvgMaintenanceMarginBps * markets[0].bars +
        markets[1].models[0].matchedAvgMaintenanceMarginBps * markets[1].bars) /
        pooled[0].bars,
      6,
    );
    expect(pooled[0].breaches).toBe(markets[0].models[0].breaches + markets[1].models[0].breaches);

    const rows = readFileSync(series, "utf8").trim().split("\n");
    const header = rows[0].split(",");
    expect(header.slice(0, 4)).toEqual(["market", "calibration_source", "time", "rv_1d"]);
    expect(rows.length - 1).toBe(markets[0].bars + markets[1].bars);
    const breachCol = header.indexOf("zkrisk-quantized_breach");
    const scaleCol = header.indexOf("zkrisk-quantized_scale");
    const adaptiveScaleCol = header.indexOf("zkrisk-quantized-adaptive_scale");
    for (const b of BASELINE_NAMES) expect(header.indexOf(`${b}_scale`)).toBe(-1);
    for (const m of markets) {
      const mine = rows.slice(1).filter((l) => l.startsWith(m.market + ","));
      expect(mine.length).toBe(m.bars);
      expect(mine.filter((l) => l.split(",")[breachCol] === "1").length).toBe(m.models[0].breaches);
      expect(new Set(mine.map((l) => l.split(",")[1]))).toEqual(new Set([m.calibration.source]));
      // The fixed scale is the market's calibration on every bar; the adaptive rule's starts there and moves.
      const fixed = new Set(mine.map((l) => Number(l.split(",")[scaleCol])));
      expect([...fixed]).toEqual([m.calibration.num / 2 ** m.calibration.shift]);
      const adaptive = mine.map((l) => Number(l.split(",")[adaptiveScaleCol]));
      expect(new Set(adaptive).size).toBeGreaterThan(10);
      expect(Math.abs(adaptive[0] / (m.calibration.num / 2 ** m.calibration.shift) - 1)).toBeLessThan(0.15);
    }

    const html = readFileSync(report, "utf8");
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    for (const m of markets) {
      const svg = html.slice(
        html.indexOf(`<svg xmlns="http://www.w3.org/2000/svg"`, html.indexOf(`id="market-${m.market}"`)),
      );
      const chart = svg.slice(0, svg.indexOf("</svg>"));
      for (const model of m.models.slice(0, 2)) {
        const markers = chart.match(new RegExp(`class="breach" data-model="${model.name}"`, "g")) ?? [];
        expect(markers.length).toBe(model.breaches);
      }
    }
    // The goal: each zkrisk model of a market against that market's valid baselines, also on the page.
    const goals = r.markets as { goal: { model: string; met: boolean }[] }[];
    markets.forEach((m, i) => {
      const baselines = (m.models as unknown as GoalInput[]).filter((x) => BASELINE_NAMES.includes(x.name));
      const judged = (m.models as unknown as GoalInput[]).filter((x) => !BASELINE_NAMES.includes(x.name));
      expect(goals[i].goal.map((g) => g.model)).toEqual(["zkrisk-quantized", "zkrisk-quantized-adaptive"]);
      judged.forEach((x, j) => {
        const below = baselines.every(
          (b) => b.coverage !== "valid" || x.avgMaintenanceMarginBps < b.avgMaintenanceMarginBps,
        );
        expect(goals[i].goal[j].met).toBe(x.coverage === "valid" && below);
      });
      expect(html).toContain(`<p class="goal">${goalSummary(goals[i].goal as GoalVerdict[])}.</p>`);
    });
    expect((r.pooledGoal as unknown[]).length).toBe(2);
    expect(html).toContain("Pooled over 2 markets");
    expect(html).toContain(`<td>${markets[0].models[0].matchedAvgMaintenanceMarginBps.toFixed(1)}</td>`);
  }, 300_000);

  it("names the market however the file is named, says which bars it left out and why, and refuses what cannot be meant", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-markets-"));
    const [header, ...rows] = readFileSync(DATA, "utf8").trim().split("\n");
    const recent = rows.filter((r) => r >= "2024-03-01");
    // BTC's candles under a name of later data: still BTC-USDT, with BTC's fitted calibration.
    const later = join(dir, "BTC_USDT-2h-2025.csv");
    writeFileSync(later, [header, ...recent].join("\n") + "\n");
    const r = json(["backtest", "--data", later]);
    expect(r).toMatchObject({ market: "BTC-USDT", calibration: { source: "fitted" } });
    expect(json(["backtest", "--data", later, "--market", "btcusdt"])).toMatchObject({
      market: "BTC-USDT",
      calibration: { source: "fitted" },
    });
    // The first 84 bars have no full feature window: counted, with the reason.
    expect(r.notEvaluated).toEqual([
      expect.objectContaining({ bars: 84, reason: expect.stringContaining("feature window starts before") }),
    ]);
    // A bar whose high is ten times its close: 12 bars see a range_1d beyond the model's bound.
    const spiked = recent.map((row, i) => {
      if (i !== 1000) return row;
      const [ts, o, h, l, c, v] = row.split(",");
      return [ts, o, String(Number(h) * 10), l, c, v].join(",");
    });
    const spike = join(dir, "btcusdt-spike.csv");
    writeFileSync(spike, [header, ...spiked].join("\n") + "\n");
    const s = json(["backtest", "--data", spike]);
    const bound = (s.notEvaluated as { reason: string; bars: number }[]).find((n) =>
      n.reason.includes("at or above the model's bound"),
    );
    expect(bound?.bars).toBe(12);
    expect(s.bars).toBe((r.bars as number) - 12);
    const report = join(dir, "spike.html");
    expect(zkrisk("backtest", "--data", spike, "--report", report).stdout).toMatch(
      /not evaluated: 12 bars .*model's bound/,
    );
    expect(readFileSync(report, "utf8")).toMatch(/Not evaluated: 12 bars, [^<]*model's bound/);

    const refused = (args: string[], message: string) => {
      const x = zkrisk("backtest", ...args);
      expect(x.code, args.join(" ")).toBe(2);
      expect(x.stderr).toContain(message);
    };
    refused(["--data", later, DATA], "are both market BTC-USDT");
    refused(
      ["--data", later, "--from", "2024-05-01", "--to", "2024-04-01"],
      "--from 2024-05-01 is after --to",
    );
    refused(["--data", later, "--from", "2030-01-01"], "the file spans 2024-03-01T00:00 .. 2024-06-30T22:00");
    refused(["--data", later, "--miss-rate", "0.1"], "needs --adaptive");
    refused(["--data", later, "--market", " "], "--market: ' ' is empty: name the market, e.g. BTC-USDT");
  });

  it("--series has a column for every model of any market, empty where a market has none", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-series-"));
    const short = derivedCandles((ts) => ts >= "2024-05-01", 0);
    const series = join(dir, "s.csv");
    const r = json(["backtest", "--data", short, DATA, "--from", "2024-05-20", "--series", series]);
    const markets = r.markets as { market: string; models: { name: string }[] }[];
    expect(markets[0].models.map((m) => m.name)).toEqual(["zkrisk-quantized"]);
    expect(markets[1].models.map((m) => m.name)).toContain("static-q99");
    const lines = readFileSync(series, "utf8").trim().split("\n");
    const header = lines[0].split(",");
    const col = header.indexOf("static-q99_mm_bps");
    expect(col).toBeGreaterThan(0);
    const cells = (market: string) =>
      lines.filter((l) => l.startsWith(market + ",")).map((l) => l.split(",")[col]);
    expect(cells("derived.csv").every((c) => c === "")).toBe(true);
    expect(cells("BTC-USDT").every((c) => Number(c) > 0)).toBe(true);
  });

  it("refuses a calibrations file with an unknown key or of another model, naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-cal-"));
    const cal = JSON.parse(readFileSync(join(ROOT, "models/calibrations.json"), "utf8"));
    cal.markets[0].scal = 1;
    const bad = join(dir, "cal.json");
    writeFileSync(bad, JSON.stringify(cal));
    const r = zkrisk("backtest", "--calibrations", bad, "--from", "2024-06-01");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}: markets[0].scal: unknown key`);
    delete cal.markets[0].scal;
    cal.model.sha256 = "1".repeat(64);
    writeFileSync(bad, JSON.stringify(cal));
    const other = zkrisk("backtest", "--calibrations", bad, "--from", "2024-06-01");
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("belong to another model");
  });

  it("reads a calibrations file given, however its path is spelt, and refuses one with a float model", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-cal-"));
    const model = JSON.parse(readFileSync(MODEL, "utf8"));
    model.source.file = "another.float.json";
    const otherModel = join(dir, "other.quantized.json");
    writeFileSync(otherModel, JSON.stringify(model));
    const shipped = join(ROOT, "models/calibrations.json");
    // The shipped file by its absolute path and by a relative one (the CLI runs in the temporary folder).
    for (const spelt of [shipped, relative(tmpdir(), shipped)]) {
      const r = zkrisk("backtest", "--model", otherModel, "--calibrations", spelt, "--from", "2024-06-01");
      expect(r.code, spelt).toBe(2);
      expect(r.stderr).toContain(`${spelt}: model.sha256: the calibrations belong to another model`);
    }
    const float = join(ROOT, "models/btc-usdt-2h.float.json");
    const missing = join(dir, "missing.json");
    const r = zkrisk("backtest", "--model", float, "--calibrations", missing, "--from", "2024-06-01");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `--calibrations ${missing}: calibrates a quantised model, and --model ${float} is a float model`,
    );
  });
});

describe("bad input: exit code 2, the file and field or line, and nothing written", () => {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-bad-input-"));

  it("refuses an unknown or misspelt key in a model file", () => {
    const quantized = JSON.parse(readFileSync(MODEL, "utf8"));
    quantized.policy.bufferBsp = 100;
    const badQuantized = join(dir, "misspelt.quantized.json");
    writeFileSync(badQuantized, JSON.stringify(quantized));
    const infer = zkrisk("infer", "--model", badQuantized);
    expect(infer.code).toBe(2);
    expect(infer.stderr).toContain(`${badQuantized}: policy.bufferBsp: unknown key`);

    const float = JSON.parse(readFileSync(join(ROOT, "models/btc-usdt-2h.float.json"), "utf8"));
    float.layers[0].activaton = "relu";
    const badFloat = join(dir, "misspelt.float.json");
    writeFileSync(badFloat, JSON.stringify(float));
    const out = join(dir, "never.quantized.json");
    const quantize = zkrisk("quantize", "--model", badFloat, "--out", out);
    expect(quantize.code).toBe(2);
    expect(quantize.stderr).toContain(`${badFloat}: layers[0].activaton: unknown key`);
    expect(existsSync(out)).toBe(false);
  });

  it("names the line of a misaligned timestamp deep in a candle file", () => {
    const [header, ...rows] = readFileSync(DATA, "utf8").trim().split("\n");
    const kept = rows.slice(0, 2100);
    // Line 2000 is row 1999 of the file: move its bar 17 minutes late.
    const [ts, ...rest] = kept[1998].split(",");
    kept[1998] = [ts.replace(/:00:00$/, ":17:00"), ...rest].join(",");
    const file = join(dir, "misaligned.csv");
    writeFileSync(file, [header, ...kept].join("\n") + "\n");
    const r = zkrisk("infer", "--data", file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file}:2000: timestamp .* is not aligned to the 2h bar grid`));
  });

  it("refuses prove --domain at or above the field modulus before proving", () => {
    const out = join(dir, "never-proof.json");
    const p = FIELD_MODULUS.toString();
    for (const domain of [p, `${p}0`]) {
      const r = zkrisk("prove", "--artifacts", dir, "--market", "BTC-USDT", "--domain", domain, "--out", out);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--domain: ${domain} is not below the field modulus`);
    }
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a malformed or inapplicable --beacon before reading the artifacts", () => {
    const missing = join(dir, "never-compiled");
    const contribute = zkrisk(
      "ceremony",
      "contribute",
      "--artifacts",
      missing,
      "--name",
      "alice",
      "--beacon",
      "zz",
    );
    expect(contribute.code).toBe(2);
    expect(contribute.stderr).toContain("--beacon: 'zz' is not a beacon hash (1 to 255 bytes of hex)");

    const direct = zkrisk("setup", "--artifacts", missing, "--beacon", "00ff");
    expect(direct.code).toBe(2);
    expect(direct.stderr).toContain("--beacon 00ff: the direct development setup (no --ptau) has no beacon");

    const verifyNothing = zkrisk("setup", "--artifacts", missing, "--verify-ptau");
    expect(verifyNothing.code).toBe(2);
    expect(verifyNothing.stderr).toContain("--verify-ptau: verifies the contributions of a --ptau FILE");

    const malformed = zkrisk("setup", "--artifacts", missing, "--ptau", "dev", "--beacon", "zz");
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain("--beacon: 'zz' is not a beacon hash");
    expect(existsSync(missing)).toBe(false);
  });

  it("refuses --out onto a directory and compile --out onto a file", () => {
    const quantize = zkrisk("quantize", "--out", dir);
    expect(quantize.code).toBe(2);
    expect(quantize.stderr).toContain(`--out: '${dir}' is a directory, not a file`);

    const prove = zkrisk("prove", "--artifacts", dir, "--market", "BTC-USDT", "--out", dir);
    expect(prove.code).toBe(2);
    expect(prove.stderr).toContain(`--out: '${dir}' is a directory, not a file`);

    const clash = zkrisk(
      "prove",
      "--artifacts",
      dir,
      "--market",
      "BTC-USDT",
      "--out",
      join(dir, "proof.json"),
      "--snarkjs",
      dir,
    );
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain(`--snarkjs: ${dir}/proof.json would overwrite --out`);

    const file = join(dir, "a-file");
    writeFileSync(file, "keep me\n");
    const compile = zkrisk("compile", "--out", file);
    expect(compile.code).toBe(2);
    expect(compile.stderr).toContain(`--out: '${file}' is a file, not a directory`);
    const under = zkrisk("compile", "--out", join(file, "sub"));
    expect(under.code).toBe(2);
    expect(under.stderr).toContain(`lies under '${file}', which is a file`);
    expect(readFileSync(file, "utf8")).toBe("keep me\n");
  });
});
