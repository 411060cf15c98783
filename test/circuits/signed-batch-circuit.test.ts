/**
 * The signed batch circuit (circuits/generate-signed-batch-circuit.ts) on real signed windows: its N + 4 public
 * signals equal what the integer engine and the TypeScript hashes give, its constraint count is the sum of its
 * parts, and the forgeries an attacker would try on a batch have no witness: one market's window swapped for
 * another's, markets reordered, a candle, a market id or an end edited after signing, a signature over another
 * batch digest, k - 1 signatures, one publisher's signature counted twice, a market id too long to pack, a forged
 * packed output. (Template-level forgeries are in templates-*.test.ts; the oracle's refusals of duplicated or
 * unsorted ids, another publisher set or model, and replays are in test/contracts/signed-batch*.test.ts.)
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildWindow } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { unpackBatchUpdate } from "../../circuits/batch-statement";
import { generateSignedBatchCircuit } from "../../circuits/generate-signed-batch-circuit";
import { batchSignalNames } from "../../circuits/public-signals";
import { loadCircuit, witnessFailure, type TestCircuit } from "../helpers/circuits";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { publicKeyOf, signDigest } from "../../publisher/eddsa";
import type { PublisherKey } from "../../publisher/keystore";
import { makePublisherSet, type PublisherSet } from "../../publisher/publisher-set";
import { signBatch, type SignedBatch } from "../../publisher/signed-batch";
import { signedBatchInput, type SignedBatchInput } from "../../prover/signed-batch-input";

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

type Input = Record<string, unknown>;
type Rows = string[][];

/** Window digest (per market), features, model and policy, packing range checks: measured, see the generator. */
const PER_MARKET = 8226 + 6818 + 844 + (40 + 176);
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
    // ETH-USDT's window ends a bar earlier, so the two markets have different features and timestamps.
    signed = await signBatch(a, [windowOf("BTC-USDT"), windowOf("ETH-USDT", 1)]);
    honest = await signedBatchInput(model, "constant", 2, { batches: [signed], publishers, domain: DOMAIN });
  }, 900_000);

  const outputsOf = async (input: Input) => {
    const w = await circuit.witness(input as never);
    return batchSignalNames(2).map((name) => circuit.read(w, `main.${name}`));
  };
  const noWitness = async (input: Input, what: string) =>
    expect(await witnessFailure(circuit, input as never), what).toMatch(/Assert Failed/);

  it("costs the sum of its parts (circuits/generate-signed-batch-circuit.ts)", () => {
    // 2 x (digest 8,226 + features 6,818 + model and policy 844 + range checks 216) + batch digest 373
    // + signatures 5,157 + domain binding 1
    expect(circuit.constraints).toBe(2 * PER_MARKET + BATCH_DIGEST_COST[2] + quorumCost(1) + 1);
  });

  it("outputs each market's packed update, the batch digest, the model, the set and the domain", async () => {
    expect(await outputsOf(honest.input)).toEqual(honest.publicSignals);
    const [btc, eth] = honest.publicSignals.slice(0, 2).map(unpackBatchUpdate);
    expect(btc.marketId).toBe(marketIdOf("BTC-USDT"));
    expect(eth.marketId).toBe(marketIdOf("ETH-USDT"));
    expect(btc.dataTimestamp).toBe(BigInt(series.candles[LAST].time / 1000));
    expect(eth.dataTimestamp).toBe(BigInt(series.candles[LAST - 1].time / 1000));
    expect([btc.mm, btc.im]).toEqual([
      honest.markets[0].trace.maintenanceMarginBps,
      honest.markets[0].trace.initialMarginBps,
    ]);
    expect(honest.publicSignals[2]).toBe(signed.digest);
  });

  it("has no witness when one market's window is swapped for another market's", async () => {
    const swapped: Input = { ...honest.input };
    for (const field of ["close", "volume", "high", "low"]) {
      const rows = honest.input[field] as Rows;
      swapped[field] = [rows[1], rows[0]];
    }
    await noWitness(swapped, "windows swapped, ids and ends kept");
    // The windows with their ends, under each other's ids.
    await noWitness(
      { ...swapped, dataTimestamp: [...(honest.input.dataTimestamp as string[])].reverse() },
      "windows and ends swapped",
    );
    // Both markets reordered whole (ids, ends and windows): the batch digest is another order's.
    const reordered: Input = { ...swapped, dataTimestamp: swapped.dataTimestamp };
    reordered.marketId = [...(honest.input.marketId as string[])].reverse();
    reordered.dataTimestamp = [...(honest.input.dataTimestamp as string[])].reverse();
    await noWitness(reordered, "markets reordered");
  });

  it("has no witness for a candle, a market id or an end edited after signing", async () => {
    for (const [field, m, i] of [
      ["close", 0, 0],
      ["close", 1, WINDOW_BARS - 1],
      ["volume", 1, 40],
      ["high", 0, 11],
      ["low", 1, 0],
    ] as const) {
      const rows = (honest.input[field] as Rows).map((r) => [...r]);
      rows[m][i] = (BigInt(rows[m][i]) + 1n).toString();
      await noWitness({ ...honest.input, [field]: rows }, `${field}[${m}][${i}]`);
    }
    const ids = [...(honest.input.marketId as string[])];
    ids[1] = marketIdOf("SOL-USDT").toString();
    await noWitness({ ...honest.input, marketId: ids }, "market id");
    const ends = [...(honest.input.dataTimestamp as string[])];
    ends[1] = (BigInt(ends[1]) + 7200n).toString();
    await noWitness({ ...honest.input, dataTimestamp: ends }, "end");
  });

  it("has no witness for a signature over another batch digest, or by a key outside the set", async () => {
    const earlier = await signBatch(a, [windowOf("BTC-USDT", 1), windowOf("ETH-USDT", 2)]);
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
    const outsider = await signBatch(await publisher(3), [windowOf("BTC-USDT"), windowOf("ETH-USDT", 1)]);
    await noWitness(withSignature(outsider.signature), "a key outside the set");
  });

  it("has no witness for a market id that does not fit the packing (2^176 or more)", async () => {
    const long = "A".repeat(23); // 23 ASCII bytes: at least 2^176
    const batch = await signBatch(a, [windowOf("BTC-USDT"), windowOf(long)]);
    const built = { ...honest.input };
    built.marketId = batch.markets.map((m) => m.window.marketId.toString());
    const rows = (f: (w: (typeof batch.markets)[number]["window"]) => bigint[]) =>
      batch.markets.map((m) => f(m.window).map(String));
    built.dataTimestamp = batch.markets.map((m) => String(m.window.endTime / 1000));
    built.close = rows((w) => w.bars.map((b) => b.close));
    built.volume = rows((w) => w.bars.map((b) => b.volume));
    built.high = rows((w) => w.bars.slice(-12).map((b) => b.high));
    built.low = rows((w) => w.bars.slice(-12).map((b) => b.low));
    built.signatureR8x = [batch.signature.R8x.toString()];
    built.signatureR8y = [batch.signature.R8y.toString()];
    built.signatureS = [batch.signature.S.toString()];
    expect(batch.markets[1].window.marketId >= 1n << 176n).toBe(true);
    await noWitness(built, "a 23-byte market id");
    // The same with a 22-byte id has a witness: the range check is the only refusal.
    const fits = await signBatch(a, [windowOf("BTC-USDT"), windowOf("A".repeat(22))]);
    const ok = await signedBatchInput(model, "constant", 2, { batches: [fits], publishers, domain: DOMAIN });
    expect(await outputsOf(ok.input)).toEqual(ok.publicSignals);
  });

  it("rejects a forged packed output or batch digest (the edited witness violates constraints)", async () => {
    const w = await circuit.witness(honest.input as never);
    for (const name of ["main.packed[0]", "main.packed[1]", "main.batchDigest", "main.publisherSet"]) {
      const forged = circuit.edit(w, { [name]: circuit.read(w, name) + 1n });
      expect(circuit.violated(forged).length, name).toBeGreaterThan(0);
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
    expect(circuit.constraints).toBe(PER_MARKET + BATCH_DIGEST_COST[1] + quorumCost(2) + 1);
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

describe("signed batch circuit, N = 1, quorum 1, committed weights", () => {
  let circuit: TestCircuit;
  let honest: SignedBatchInput;

  beforeAll(async () => {
    const generated = await generateSignedBatchCircuit(model, "committed", 1, 1);
    circuit = await loadCircuit(generated.source, "signed_batch1_k1_committed");
    const a = await publisher(1);
    const publishers = await makePublisherSet([a.publicKey], 1);
    const batches = [await signBatch(a, [windowOf("BTC-USDT", 3)])];
    honest = await signedBatchInput(model, "committed", 1, { batches, publishers, domain: DOMAIN });
  }, 900_000);

  it("outputs the engine's update and the model commitment computed from the private weights", async () => {
    const w = await circuit.witness(honest.input as never);
    expect(batchSignalNames(1).map((n) => circuit.read(w, `main.${n}`))).toEqual(honest.publicSignals);
    // Another model's weights (one weight changed) commit to another model: the registered one is refused.
    const weights = (honest.input.weights0 as string[][]).map((row) => [...row]);
    weights[0][0] = (BigInt(weights[0][0]) + 1n).toString();
    const other = await circuit.witness({ ...honest.input, weights0: weights } as never);
    expect(circuit.read(other, "main.modelCommitment")).not.toBe(honest.modelCommitment);
  });
});
