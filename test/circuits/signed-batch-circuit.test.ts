/**
 * The signed batch circuit (circuits/generate-signed-batch-circuit.ts) on real signed windows: its V + 2N + 2 public
 * signals equal what the integer engine and the TypeScript hashes give, its constraint count is the sum of its
 * parts, and the forgeries an attacker would try on a batch have no witness: one market's window swapped for
 * another's, markets reordered, a candle, a market id or the end edited after signing, windows with different ends,
 * a signature over another batch digest, k - 1 signatures, one publisher's signature counted twice, a forged
 * varying output (margins, timestamp, digest bits), and, with committed weights, a market's calibration or model
 * commitment that is not its own. (Template-level forgeries are in templates-*.test.ts; the
 * verifier's refusal of another composition's constants and the oracle's of duplicated or unsorted ids, another
 * publisher set or model, and replays are in test/contracts/signed-batch*.test.ts.)
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildWindow } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { BATCH_PACKING, unpackBatchUpdate } from "../../circuits/batch-statement";
import { generateSignedBatchCircuit } from "../../circuits/generate-signed-batch-circuit";
import { batchSignalLayout, batchSignalNames } from "../../circuits/public-signals";
import { loadCircuit, witnessFailure, type TestCircuit } from "../helpers/circuits";
import { WINDOW_BARS, WINDOW_RANGE_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { publicKeyOf, signDigest } from "../../publisher/eddsa";
import type { PublisherKey } from "../../publisher/keystore";
import { makePublisherSet, type PublisherSet } from "../../publisher/publisher-set";
import { signBatch, type SignedBatch } from "../../publisher/signed-batch";
import { signedBatchInput, type SignedBatchInput } from "../../prover/signed-batch-input";
import { modelCommitment } from "../../circuits/commitments";
import { withCalibration } from "../../models/market-model";

const ROOT = join(__dirname, "../..");
const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));
const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
const DOMAIN = 77n;
const LAST = series.candles.length - 1;

/** A publisher key from a fixed seed byte (tests only). */
async function publisher(byte: number): Promise<PublisherKey> {
  const privateKey = new Uint8Array(32).fill(byte);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** The window of `market` ending `back` bars before the last (the shipped BTC candles for every market). */
const windowOf = (market: string, back = 0) => ({
  market,
  window: buildWindow(series, marketIdOf(market), LAST - back, WINDOW_BARS),
});

/** ETH-USDT's window ending `back` bars before the last, of BTC's candles moved one bar later (other features). */
const ethWindow = (back = 0) => ({
  market: "ETH-USDT",
  window: buildWindow(
    { ...series, candles: series.candles.map((c) => ({ ...c, time: c.time + series.intervalMs })) },
    marketIdOf("ETH-USDT"),
    LAST - 1 - back,
    WINDOW_BARS,
  ),
});

type Input = Record<string, unknown>;
type Rows = string[][];

/**
 * Window digest (per market; layout v3, 223 elements: signed-update-circuit.test.ts derives its 9,051, 8,226 with
 * layout v2's 199), features, model and policy, MM and IM range checks: measured, see the generator.
 */
const PER_MARKET = 9051 + 6818 + 844 + 2 * 14;
/** The data timestamp's range check (40) and the batch digest's low 91 bits (FieldLowBits(91): 2 x 254 + 3). */
const PER_BATCH = 40 + 511;
/** PublisherQuorum(K): 924 + 4,233 K (templates-publisher-quorum.test.ts). */
const quorumCost = (k: number) => 924 + 4233 * k;
/**
 * PoseidonSponge(2 + 2N) of the batch digest with its two leading constants (tag and N): one Poseidon(3 + 2N)
 * for N <= 6, whose first S-boxes of the constant inputs (the length, the tag, N) are folded. Measured: N = 1
 * (Poseidon(5)) 313, N = 2 (Poseidon(7)) 373.
 */
const BATCH_DIGEST_COST: Record<number, number> = { 1: 313, 2: 373 };

describe("signed batch circuit, N = 2, quorum 1, constant weights", () => {
  let circuit: TestCircuit;
  let a: PublisherKey;
  let publishers: PublisherSet;
  let signed: SignedBatch;
  let honest: SignedBatchInput;

  beforeAll(async () => {
    const generated = await generateSignedBatchCircuit(model, "constant", 2, 1);
    circuit = await loadCircuit(generated.source, "signed_batch2_k1_constant");
    a = await publisher(1);
    publishers = await makePublisherSet([a.publicKey, (await publisher(2)).publicKey], 1);
    // ETH-USDT's candles are BTC's a bar later, so the two markets have different features and one end.
    signed = await signBatch(a, [windowOf("BTC-USDT"), ethWindow()]);
    honest = await signedBatchInput(model, "constant", 2, { batches: [signed], publishers, domain: DOMAIN });
  }, 900_000);

  const outputsOf = async (input: Input) => {
    const w = await circuit.witness(input as never);
    return batchSignalNames(2).map((name) => circuit.read(w, `main.${name}`));
  };
  const noWitness = async (input: Input, what: string) =>
    expect(await witnessFailure(circuit, input as never), what).toMatch(/Assert Failed/);
  /** The honest input with `batch`'s windows and signature (any ends; the circuit's end is `end`). */
  const inputOf = (batch: SignedBatch, end: bigint): Input => {
    const rows = (f: (w: (typeof batch.markets)[number]["window"]) => bigint[]) =>
      batch.markets.map((m) => f(m.window).map(String));
    return {
      ...honest.input,
      marketId: batch.markets.map((m) => m.window.marketId.toString()),
      dataTimestamp: end.toString(),
      close: rows((w) => w.bars.map((b) => b.close)),
      volume: rows((w) => w.bars.map((b) => b.volume)),
      high: rows((w) => w.bars.slice(-WINDOW_RANGE_BARS).map((b) => b.high)),
      low: rows((w) => w.bars.slice(-WINDOW_RANGE_BARS).map((b) => b.low)),
      signatureR8x: [batch.signature.R8x.toString()],
      signatureR8y: [batch.signature.R8y.toString()],
      signatureS: [batch.signature.S.toString()],
    };
  };

  it("costs the sum of its parts (circuits/generate-signed-batch-circuit.ts)", () => {
    // 2 x (digest 9,051 + features 6,818 + model and policy 844 + MM and IM range checks 28) + timestamp range
    // check 40 + digest bits 511 + batch digest 373 + signatures 5,157 + domain binding 1 + market 1's model
    // commitment output (a constant, the compiled-in model's; market 0's costs nothing, as before)
    expect(circuit.constraints).toBe(
      2 * PER_MARKET + PER_BATCH + BATCH_DIGEST_COST[2] + quorumCost(1) + 1 + 1,
    );
    expect(circuit.constraints).toBe(39565); // 37,915 with layout v2: 2 x 825 more for the 24-bar range part
  });

  it("outputs the packed margins, end and digest bits, the model and the set, and takes the ids and domain", async () => {
    expect(await outputsOf(honest.input)).toEqual(honest.publicSignals);
    const layout = batchSignalLayout(2);
    expect(layout.varying).toBe(1);
    const update = unpackBatchUpdate(2, honest.publicSignals.slice(0, layout.varying));
    expect(update.dataTimestamp).toBe(BigInt(series.candles[LAST].time / 1000));
    expect(update.digest).toBe(signed.digest & ((1n << 91n) - 1n));
    expect(update.markets).toEqual(
      honest.markets.map((m) => ({ mm: m.trace.maintenanceMarginBps, im: m.trace.initialMarginBps })),
    );
    expect(update.markets[0]).not.toEqual(update.markets[1]);
    expect(honest.publicSignals.slice(layout.marketId, layout.marketId + 2)).toEqual([
      marketIdOf("BTC-USDT"),
      marketIdOf("ETH-USDT"),
    ]);
    // Constant weights: the compiled-in model is every market's.
    const commitment = await modelCommitment(model);
    expect(honest.markets.map((m) => m.modelCommitment)).toEqual([commitment, commitment]);
    expect(honest.publicSignals.slice(layout.modelCommitment, layout.modelCommitment + 2)).toEqual([
      commitment,
      commitment,
    ]);
    expect(honest.publicSignals[layout.publisherSet]).toBe(honest.publisherSetCommitment);
    expect(honest.publicSignals[layout.domain]).toBe(DOMAIN);
  });

  it("has no witness when one market's window is swapped for another market's", async () => {
    const swapped: Input = { ...honest.input };
    for (const field of ["close", "volume", "high", "low"]) {
      const rows = honest.input[field] as Rows;
      swapped[field] = [rows[1], rows[0]];
    }
    await noWitness(swapped, "windows swapped, ids kept");
    // Both markets reordered whole (ids and windows): the batch digest is another order's.
    await noWitness(
      { ...swapped, marketId: [...(honest.input.marketId as string[])].reverse() },
      "markets reordered",
    );
  });

  it("has no witness for a candle, a market id or the end edited after signing", async () => {
    for (const [field, m, i] of [
      ["close", 0, 0],
      ["close", 1, WINDOW_BARS - 1],
      ["volume", 1, 40],
      ["high", 0, 0], // bar 61: signed, read by no feature
      ["high", 0, 11],
      ["high", 1, 23],
      ["low", 1, 0],
      ["low", 0, 12], // bar 73: the first range_1d reads
    ] as const) {
      const rows = (honest.input[field] as Rows).map((r) => [...r]);
      rows[m][i] = (BigInt(rows[m][i]) + 1n).toString();
      await noWitness({ ...honest.input, [field]: rows }, `${field}[${m}][${i}]`);
    }
    const ids = [...(honest.input.marketId as string[])];
    ids[1] = marketIdOf("SOL-USDT").toString();
    await noWitness({ ...honest.input, marketId: ids }, "market id");
    const end = BigInt(honest.input.dataTimestamp as string);
    await noWitness({ ...honest.input, dataTimestamp: (end + 7200n).toString() }, "end");
  });

  it("has no witness for windows with different ends, whichever end the batch claims", async () => {
    // Signed as they are: BTC's window ends at the last bar, ETH's a bar earlier.
    const uneven = await signBatch(a, [windowOf("BTC-USDT"), windowOf("ETH-USDT", 1)]);
    for (const m of uneven.markets) {
      await noWitness(inputOf(uneven, BigInt(m.window.endTime / 1000)), `the end of ${m.market}`);
    }
    // The helper itself gives a witness for an honest batch (so the refusals above are the ends').
    expect(await outputsOf(inputOf(signed, BigInt(signed.markets[0].window.endTime / 1000)))).toEqual(
      honest.publicSignals,
    );
  });

  it("refuses to build a batch whose windows end at different times", async () => {
    const uneven = await signBatch(a, [windowOf("BTC-USDT"), windowOf("ETH-USDT", 1)]);
    await expect(
      signedBatchInput(model, "constant", 2, { batches: [uneven], publishers, domain: DOMAIN }),
    ).rejects.toThrow(/markets\[1\] \(ETH-USDT\): endTime .* the windows of a batch end at one bar close/);
  });

  it("has no witness for a signature over another batch digest, or by a key outside the set", async () => {
    const earlier = await signBatch(a, [windowOf("BTC-USDT", 1), ethWindow(1)]);
    const s = (v: bigint) => [v.toString()];
    const withSignature = (sig: { R8x: bigint; R8y: bigint; S: bigint }) => ({
      ...honest.input,
      signatureR8x: s(sig.R8x),
      signatureR8y: s(sig.R8y),
      signatureS: s(sig.S),
    });
    await noWitness(withSignature(earlier.signature), "the previous bar's batch signature");
    // A's signature of one market's window digest alone (a single-window signature) is not one of the batch.
    await noWitness(
      withSignature(await signDigest(a.privateKey, signed.markets[0].digest)),
      "a window signature",
    );
    const outsider = await signBatch(await publisher(3), [windowOf("BTC-USDT"), ethWindow()]);
    await noWitness(withSignature(outsider.signature), "a key outside the set");
  });

  it("takes a market id of any length (the ids are public signals of their own, no longer packed)", async () => {
    const long = "A".repeat(23); // 23 ASCII bytes: at least 2^176, which the packed layout refused
    const batch = await signBatch(a, [windowOf("BTC-USDT"), windowOf(long)]);
    const ok = await signedBatchInput(model, "constant", 2, { batches: [batch], publishers, domain: DOMAIN });
    expect(batch.markets[1].window.marketId >= 1n << 176n).toBe(true);
    expect(await outputsOf(ok.input)).toEqual(ok.publicSignals);
  });

  it("rejects an edited margin, end, digest bit, model, set or batch digest (the witness violates constraints)", async () => {
    const w = await circuit.witness(honest.input as never);
    const P = BATCH_PACKING;
    const at = (bit: number) => 1n << BigInt(bit);
    const edits: [string, bigint][] = [
      ["main.update[0]", 1n], // the end
      ["main.update[0]", at(P.digestShift)], // the digest's lowest bit
      ["main.update[0]", at(P.digestShift + P.digestBits - 1)], // its highest
      ["main.update[0]", at(P.marketsShift)], // market 0's MM
      ["main.update[0]", at(P.marketsShift + P.marginBits)], // market 0's IM
      ["main.update[0]", at(P.marketsShift + P.marketBits)], // market 1's MM
      ["main.update[0]", at(P.marketsShift + P.marketBits + P.marginBits)], // market 1's IM
      ["main.dataTimestamp", 1n],
      ["main.digestBits.out", 1n],
      ["main.modelCommitment[0]", 1n],
      ["main.modelCommitment[1]", 1n],
      ["main.publisherSet", 1n],
    ];
    for (const [name, delta] of edits) {
      const forged = circuit.edit(w, { [name]: circuit.read(w, name) + delta });
      expect(circuit.violated(forged).length, `${name} + ${delta}`).toBeGreaterThan(0);
    }
  });
});

describe("signed batch circuit, N = 1, quorum 2", () => {
  let circuit: TestCircuit;
  let honest: SignedBatchInput;

  beforeAll(async () => {
    const generated = await generateSignedBatchCircuit(model, "constant", 1, 2);
    circuit = await loadCircuit(generated.source, "signed_batch1_k2_constant");
    const a = await publisher(1);
    const b = await publisher(2);
    const publishers = await makePublisherSet([a.publicKey, b.publicKey, (await publisher(3)).publicKey], 2);
    const batches = [await signBatch(a, [windowOf("BTC-USDT")]), await signBatch(b, [windowOf("BTC-USDT")])];
    honest = await signedBatchInput(model, "constant", 1, { batches, publishers, domain: DOMAIN });
  }, 900_000);

  it("costs one market, the batch digest and two signatures", () => {
    expect(circuit.constraints).toBe(PER_MARKET + PER_BATCH + BATCH_DIGEST_COST[1] + quorumCost(2) + 1);
  });

  it("accepts the quorum's two signatures", async () => {
    const w = await circuit.witness(honest.input as never);
    expect(batchSignalNames(1).map((n) => circuit.read(w, `main.${n}`))).toEqual(honest.publicSignals);
  });

  it("has no witness with k - 1 signatures: one counted twice, or the second missing or by an outsider", async () => {
    const pick = (field: string, i: number) => (honest.input[field] as string[])[i];
    const twice = (i: number) => ({
      ...honest.input,
      signerIndex: [pick("signerIndex", i), pick("signerIndex", i)],
      signatureR8x: [pick("signatureR8x", i), pick("signatureR8x", i)],
      signatureR8y: [pick("signatureR8y", i), pick("signatureR8y", i)],
      signatureS: [pick("signatureS", i), pick("signatureS", i)],
    });
    expect(await witnessFailure(circuit, twice(0) as never), "first signature twice").toMatch(
      /Assert Failed/,
    );
    expect(await witnessFailure(circuit, twice(1) as never), "second signature twice").toMatch(
      /Assert Failed/,
    );
    const missing = {
      ...honest.input,
      signatureR8x: [pick("signatureR8x", 0), "0"],
      signatureR8y: [pick("signatureR8y", 0), "1"],
      signatureS: [pick("signatureS", 0), "0"],
    };
    expect(await witnessFailure(circuit, missing as never), "second signature missing").toMatch(
      /Assert Failed/,
    );
    const outsider = await signBatch(await publisher(4), [windowOf("BTC-USDT")]);
    const byOutsider = {
      ...honest.input,
      signatureR8x: [pick("signatureR8x", 0), outsider.signature.R8x.toString()],
      signatureR8y: [pick("signatureR8y", 0), outsider.signature.R8y.toString()],
      signatureS: [pick("signatureS", 0), outsider.signature.S.toString()],
    };
    expect(await witnessFailure(circuit, byOutsider as never), "second by an outsider").toMatch(
      /Assert Failed/,
    );
  });
});

describe("signed batch circuit, N = 2, quorum 1, committed weights: a calibration per market", () => {
  let circuit: TestCircuit;
  let publishers: PublisherSet;
  let signed: SignedBatch;
  let honest: SignedBatchInput;
  /** ETH-USDT's own model file: the shipped network with ETH's fitted calibration (models/calibrations.json). */
  const eth = withCalibration(model, "ETH-USDT", 59567);

  beforeAll(async () => {
    const generated = await generateSignedBatchCircuit(model, "committed", 2, 1);
    circuit = await loadCircuit(generated.source, "signed_batch2_k1_committed");
    const a = await publisher(1);
    publishers = await makePublisherSet([a.publicKey], 1);
    signed = await signBatch(a, [windowOf("BTC-USDT", 3), ethWindow(3)]);
    const models = new Map([["ETH-USDT", eth]]);
    honest = await signedBatchInput(model, "committed", 2, {
      batches: [signed],
      publishers,
      domain: DOMAIN,
      models,
    });
  }, 900_000);

  it("outputs each market's engine margins with its own calibration and each market's model commitment", async () => {
    const w = await circuit.witness(honest.input as never);
    expect(batchSignalNames(2).map((n) => circuit.read(w, `main.${n}`))).toEqual(honest.publicSignals);
    const layout = batchSignalLayout(2);
    expect(honest.publicSignals.slice(layout.modelCommitment, layout.modelCommitment + 2)).toEqual([
      await modelCommitment(model),
      await modelCommitment(eth),
    ]);
    // ETH's margins are its own calibration's, not BTC's (ETH's scale is 22 % above BTC's).
    const shared = await signedBatchInput(model, "committed", 2, {
      batches: [signed],
      publishers,
      domain: DOMAIN,
    });
    expect(honest.markets[0].trace).toEqual(shared.markets[0].trace);
    expect(honest.markets[1].trace.maintenanceMarginBps).toBeGreaterThan(
      shared.markets[1].trace.maintenanceMarginBps,
    );
    expect(shared.publicSignals[layout.modelCommitment + 1]).toBe(await modelCommitment(model));
  });

  it("binds each market's calibration to its own commitment: swapped or edited, the registered ones change", async () => {
    const calibration = honest.input.calibration as string[];
    const read = async (input: Input) => {
      const w = await circuit.witness(input as never);
      return [0, 1].map((m) => circuit.read(w, `main.modelCommitment[${m}]`));
    };
    const proven = await read(honest.input);
    // BTC's calibration given to ETH and ETH's to BTC: the proof would carry the other market's commitments.
    expect(await read({ ...honest.input, calibration: [calibration[1], calibration[0]] })).toEqual([
      proven[1],
      proven[0],
    ]);
    // One market's calibration edited: only its commitment moves, to one no market registered.
    const edited = await read({
      ...honest.input,
      calibration: [calibration[0], String(BigInt(calibration[1]) + 1n)],
    });
    expect(edited[0]).toBe(proven[0]);
    expect(edited[1]).not.toBe(proven[1]);
    expect(edited[1]).toBe(await modelCommitment(withCalibration(model, "ETH-USDT", 59568)));
    // Another weight commits every market to another model.
    const weights = (honest.input.weights0 as string[][]).map((row) => [...row]);
    weights[0][0] = (BigInt(weights[0][0]) + 1n).toString();
    const other = await read({ ...honest.input, weights0: weights });
    expect(other[0]).not.toBe(proven[0]);
    expect(other[1]).not.toBe(proven[1]);
  });

  it("rejects an edited model commitment or margin (the witness violates constraints)", async () => {
    const w = await circuit.witness(honest.input as never);
    const P = BATCH_PACKING;
    for (const [name, delta] of [
      ["main.modelCommitment[0]", 1n],
      ["main.modelCommitment[1]", 1n],
      ["main.update[0]", 1n << BigInt(P.marketsShift + P.marketBits)], // ETH's MM
    ] as const) {
      const forged = circuit.edit(w, { [name]: circuit.read(w, name) + delta });
      expect(circuit.violated(forged).length, `${name} + ${delta}`).toBeGreaterThan(0);
    }
  });

  it("refuses a market model that differs in more than the calibration, or for a market outside the batch", async () => {
    const src = (models: Map<string, typeof model>) => ({
      batches: [signed],
      publishers,
      domain: DOMAIN,
      models,
    });
    const layers = model.layers.map((l, k) =>
      k === 0 ? { ...l, biases: l.biases.map((b, j) => (j === 0 ? b + 1n : b)) } : l,
    );
    const otherNetwork = { ...eth, layers };
    await expect(
      signedBatchInput(model, "committed", 2, src(new Map([["ETH-USDT", otherNetwork]]))),
    ).rejects.toThrow(
      /ETH-USDT: its model differs from the batch's model in more than the calibration \(value \d+/,
    );
    await expect(signedBatchInput(model, "committed", 2, src(new Map([["SOL-USDT", eth]])))).rejects.toThrow(
      /a model is given for SOL-USDT, which is not a market of batch 0 \(BTC-USDT, ETH-USDT\)/,
    );
    await expect(signedBatchInput(model, "constant", 2, src(new Map([["ETH-USDT", eth]])))).rejects.toThrow(
      /ETH-USDT: its model \(commitment \d+\) is not the circuit's compiled-in model/,
    );
  });
});
