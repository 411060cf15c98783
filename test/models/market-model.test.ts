/**
 * A market's own model file (models/market-model.ts, `zkrisk market-model`): the shipped model with the
 * market's calibration, its intervals recomputed, fitting the shipped committed circuit's architecture.
 * The real-circuit half (proofs with these files on one committed setup, the oracle binding each market to its
 * own model commitment) is test/contracts/market-calibration-real.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { architectureMismatches, architectureOf } from "../../circuits/architecture";
import { modelCommitment } from "../../circuits/commitments";
import { loadCalibrations } from "../../models/market-calibrations";
import { inferInteger } from "../../models/integer-engine";
import { sha256File } from "../../core/io";
import { loadMarketModel, marketModel, withCalibration } from "../../models/market-model";
import { loadQuantizedModel, parseQuantizedModel, quantizedModelToJson } from "../../models/quantized-model";
import { seriesWindowFeatures } from "../../features/window-features";
import { loadCandles } from "../../candles/load-data";
import { zkrisk } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const CALIBRATIONS = join(ROOT, "models/calibrations.json");
const ETH_DATA = join(ROOT, "models/data/ethusdt-2h.csv");

const base = loadQuantizedModel(MODEL);
const calibrations = loadCalibrations(CALIBRATIONS, sha256File(MODEL));

describe("a market's model file", () => {
  it("carries the market's fitted scale, or the new-market rule's for a market without one", () => {
    for (const c of calibrations.markets) {
      const m = marketModel(base, calibrations, c.market);
      expect(m).toMatchObject({ market: c.market, calibrationNum: c.num, source: "fitted" });
      expect(m.model.market).toBe(c.market);
      expect(m.model.policy.calibrationNum).toBe(c.num);
    }
    const fresh = marketModel(base, calibrations, "DOGE-USDT");
    expect(fresh).toMatchObject({ calibrationNum: calibrations.newMarketNum, source: "new-market rule" });
    // The rule is the largest fitted scale, never BTC's.
    expect(fresh.calibrationNum).toBe(Math.max(...calibrations.markets.map((c) => c.num)));
    expect(fresh.calibrationNum).not.toBe(base.policy.calibrationNum);
  });

  it("changes only market, calibrationNum and the policy intervals, which the loader re-derives", () => {
    const eth = marketModel(base, calibrations, "ETH-USDT").model;
    // Through JSON and the loader's checks (which recompute every interval from the weights and bounds).
    const reread = parseQuantizedModel(quantizedModelToJson(eth), "eth");
    expect(reread).toEqual(eth);
    const { market, policy, ...rest } = eth;
    const { market: baseMarket, policy: basePolicy, ...baseRest } = base;
    expect(rest).toEqual(baseRest);
    expect([market, baseMarket]).toEqual(["ETH-USDT", "BTC-USDT"]);
    const { intervals, calibrationNum, ...constants } = policy;
    const { intervals: baseIntervals, calibrationNum: baseNum, ...baseConstants } = basePolicy;
    expect(constants).toEqual(baseConstants);
    expect([calibrationNum, baseNum]).toEqual([59567, 49021]);
    expect(intervals.output).toEqual(baseIntervals.output);
    // mmNumerator = y * calibrationNum * (10000 + bufferBps): its ends scale by the num.
    const k = BigInt(calibrationNum) * BigInt(10000 + policy.bufferBps);
    expect(intervals.mmNumerator.max).toBe(baseIntervals.output.max * k);
    expect(intervals.mmNumerator.min).toBe(baseIntervals.output.min * k);
    expect(intervals.mmRaw.max).toBeGreaterThan(baseIntervals.mmRaw.max);
  });

  it("BTC's own model file is the shipped model byte for byte (its scale is BTC's fitted one)", () => {
    const btc = marketModel(base, calibrations, "BTC-USDT").model;
    expect(JSON.stringify(quantizedModelToJson(btc), null, 2) + "\n").toBe(readFileSync(MODEL, "utf8"));
  });

  it("gives the integer engine's margins of its own scale on the same features", () => {
    const eth = marketModel(base, calibrations, "ETH-USDT").model;
    const rows = seriesWindowFeatures(loadCandles(ETH_DATA))
      .rows.filter((r) => r !== null)
      .slice(-200);
    let higher = 0;
    for (const x of rows) {
      const a = inferInteger(base, x!);
      const b = inferInteger(eth, x!);
      expect(b.output).toBe(a.output); // the network is the same; only the policy's scale moves
      expect(b.maintenanceMarginBps).toBeGreaterThanOrEqual(a.maintenanceMarginBps);
      if (b.maintenanceMarginBps > a.maintenanceMarginBps) higher++;
    }
    expect(higher).toBeGreaterThan(rows.length / 2);
  });

  it("every shipped market's model fits the shipped model's committed circuit; a scale past its bits does not", async () => {
    const arch = architectureOf(base);
    const commitments = new Set<bigint>();
    for (const market of [...calibrations.markets.map((c) => c.market), "DOGE-USDT"]) {
      const m = marketModel(base, calibrations, market).model;
      expect(architectureMismatches(m, arch), market).toEqual([]);
      commitments.add(await modelCommitment(m));
    }
    // Each market's file has its own commitment, except a new market's, which shares the rule's scale
    // (XRP's, the largest) with XRP: the market id in the statement key still tells them apart.
    expect(commitments.size).toBe(calibrations.markets.length);
    const tooWide = withCalibration(base, "X-USDT", 2 ** arch.policy.calibrationBits);
    expect(architectureMismatches(tooWide, arch)).toEqual([
      `policy.calibrationNum ${2 ** arch.policy.calibrationBits} needs more than the circuit's ` +
        `${arch.policy.calibrationBits} bits (architecture.policy.calibrationBits)`,
    ]);
  });

  it("refuses a label that differs from a calibrated one only in case or punctuation, and another shift", () => {
    for (const label of ["eth-usdt", "ETHUSDT", "eth_usdt"]) {
      expect(() => marketModel(base, calibrations, label)).toThrow(
        `market '${label}' has no calibration; did you mean 'ETH-USDT'?`,
      );
    }
    expect(() => marketModel(base, { ...calibrations, calibrationShift: 15 }, "ETH-USDT")).toThrow(
      "the calibrations' calibrationShift 15 is not the model's 16",
    );
    expect(() => withCalibration(base, "ETH-USDT", 0)).toThrow("calibrationNum must be a positive integer");
  });

  it("loadMarketModel checks that the calibrations belong to the model, naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-market-model-"));
    const other = join(dir, "other.quantized.json");
    writeFileSync(other, JSON.stringify(quantizedModelToJson(withCalibration(base, "BTC-USDT", 50000))));
    expect(() => loadMarketModel(other, CALIBRATIONS, "ETH-USDT")).toThrow(
      /calibrations\.json: model\.sha256: the calibrations belong to another model \(btc-usdt-2h\.quantized\.json\)/,
    );
    expect(loadMarketModel(MODEL, CALIBRATIONS, "ETH-USDT").calibrationNum).toBe(59567);
  });
});

describe("zkrisk market-model", () => {
  it("writes the market's model, prints its commitment, and is deterministic", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-market-model-cli-"));
    const runs = ["a.json", "b.json"].map((name) => {
      const r = zkrisk("market-model", "--market", "ETH-USDT", "--out", join(dir, name), "--json");
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    });
    const eth = loadQuantizedModel(join(dir, "a.json"));
    const built = marketModel(base, calibrations, "ETH-USDT").model;
    // the file says where its calibration came from; the commitment binds the scale, not that
    const from = { file: "calibrations.json", sha256: sha256File(CALIBRATIONS) };
    expect(eth).toEqual({ ...built, calibration: { source: "fitted", calibrations: from } });
    expect(await modelCommitment(eth)).toBe(await modelCommitment(built));
    expect(readFileSync(join(dir, "a.json"), "utf8")).toBe(readFileSync(join(dir, "b.json"), "utf8"));
    expect(runs[0]).toEqual({
      out: join(dir, "a.json"),
      market: "ETH-USDT",
      calibrationNum: 59567,
      calibrationShift: 16,
      source: "fitted",
      modelCommitment: (await modelCommitment(eth)).toString(),
      sha256: sha256File(join(dir, "a.json")),
      fits: `the committed circuit of ${MODEL}`,
    });
    const text = zkrisk("market-model", "--market", "NEW-USDT", "--out", join(dir, "new.json"));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      `NEW-USDT, calibration ${calibrations.newMarketNum} / 2^16 = 1.0826 (the new-market rule: no fitted scale)`,
    );
    // BTC's own file is the base model itself: byte for byte, with no record
    expect(zkrisk("market-model", "--market", "BTC-USDT", "--out", join(dir, "btc.json")).code).toBe(0);
    expect(readFileSync(join(dir, "btc.json"), "utf8")).toBe(readFileSync(MODEL, "utf8"));
    expect(loadQuantizedModel(join(dir, "new.json")).calibration).toEqual({
      source: "new-market rule",
      calibrations: from,
    });
    // the record is closed and checked as the rest of the file
    const doc = JSON.parse(readFileSync(join(dir, "new.json"), "utf8"));
    for (const [edit, message] of [
      [
        { source: "guessed", calibrations: from },
        /calibration\.source: expected one of fitted, new-market rule/,
      ],
      [
        { source: "fitted", calibrations: { ...from, sha256: "x" } },
        /calibration\.calibrations\.sha256: expected 64/,
      ],
      [{ source: "fitted", calibrations: from, by: "me" }, /calibration\.by: unknown key/],
    ] as const) {
      writeFileSync(join(dir, "edited.json"), JSON.stringify({ ...doc, calibration: edit }));
      expect(() => loadQuantizedModel(join(dir, "edited.json"))).toThrow(message);
    }
  });

  it("refuses bad input with exit code 2, naming the file or option, and writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-market-model-cli-"));
    const out = join(dir, "m.json");
    const badCalibrations = join(dir, "cal.json");
    const doc = JSON.parse(readFileSync(CALIBRATIONS, "utf8")) as { markets: { num: number }[] };
    doc.markets[1].num = 0;
    writeFileSync(badCalibrations, JSON.stringify(doc));
    const circuitJson = join(dir, "circuit.json");
    writeFileSync(circuitJson, JSON.stringify({ mode: "constant" }));
    const cases: [string[], string][] = [
      [["--market", "eth-usdt"], "did you mean 'ETH-USDT'?"],
      [["--market", "ETH-USDT", "--calibrations", badCalibrations], `${badCalibrations}: markets[1].num`],
      [
        ["--market", "ETH-USDT", "--architecture", circuitJson],
        `--architecture: ${circuitJson} has no architecture`,
      ],
      [["--market", "ETH-USDT", "--model", ETH_DATA], ETH_DATA],
      [["--market", "x".repeat(40)], "--market: 'xxxx"],
      [["--market", ""], "--market: '' is empty"],
      [["--market", "ETHUSDT"], "did you mean 'ETH-USDT'?"],
    ];
    for (const [args, message] of cases) {
      const r = zkrisk("market-model", ...args, "--out", out);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(message);
      expect(existsSync(out)).toBe(false);
    }
    const r = zkrisk("market-model", "--market", "ETH-USDT", "--out", dir);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(`--out: '${dir}' is a directory`)]);
  });
});
