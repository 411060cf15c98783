/**
 * The signed-update circuit (circuits/generate-update-circuit.ts) on a real signed window: its two
 * public signals equal what the integer engine and the TypeScript hashes give, and the forgeries an
 * attacker would try at the level of the whole statement have no witness (template-level forgeries are in
 * templates-*.test.ts).
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildWindow } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { generateUpdateCircuit } from "../../circuits/generate-update-circuit";
import { UPDATE_SIGNALS } from "../../circuits/public-signals";
import { digestSignal, unpackUpdate } from "../../circuits/statement";
import { loadCircuit, witnessFailure, type TestCircuit } from "../helpers/circuits";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { signDigest, publicKeyOf, type PublicKey } from "../../publisher/eddsa";
import { makePublisherSet } from "../../publisher/publisher-set";
import { signWindow, type SignedWindow } from "../../publisher/signed-window";
import type { PublisherKey } from "../../publisher/keystore";
import { signedUpdateInput, type SignedUpdateInput } from "../../prover/update-input";

const ROOT = join(__dirname, "../..");
const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));
const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
const MARKET = "BTC-USDT";
const DOMAIN = 77n;

/** A publisher key from a fixed seed byte (tests only). */
async function publisher(byte: number): Promise<PublisherKey> {
  const privateKey = new Uint8Array(32).fill(byte);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** The signed window of the bar `back` bars before the last. */
async function signedAt(key: PublisherKey, back = 0): Promise<SignedWindow> {
  const index = series.candles.length - 1 - back;
  const window = buildWindow(series, marketIdOf(MARKET), index, WINDOW_BARS);
  return signWindow(key, MARKET, window);
}

type Input = Record<string, unknown>;

describe("signed-update circuit, quorum 1, constant weights", () => {
  let circuit: TestCircuit;
  let a: PublisherKey;
  let b: PublisherKey;
  let honest: SignedUpdateInput;

  beforeAll(async () => {
    const generated = await generateUpdateCircuit(model, "constant", 1);
    circuit = await loadCircuit(generated.source, "signed_update_k1_constant");
    [a, b] = await Promise.all([publisher(1), publisher(2)]);
    honest = await signedUpdateInput(model, "constant", {
      windows: [await signedAt(a)],
      publishers: await makePublisherSet([a.publicKey, b.publicKey], 1),
      domain: DOMAIN,
    });
  }, 600_000);

  const outputsOf = async (input: Input) => {
    const w = await circuit.witness(input as never);
    return UPDATE_SIGNALS.map((name) => circuit.read(w, `main.${name}`));
  };

  it("costs the sum of its parts (circuits/generate-update-circuit.ts)", () => {
    // digest 9,051 + its low 180 bits 511 + signatures 924 + 4,233 K + features 6,818 + model and policy 844
    // + statement 345 + timestamp 40. The digest (layout v3) absorbs 223 elements, 5 + 2 * 85 + 2 * 24: 14
    // Poseidon(16) of 609 (templates-commitment.test.ts) and a Poseidon(14) of 537 (measured), less 3 for each of
    // its 4 constant inputs of the first permutation (the length, tag, interval and N: their first S-box folds);
    // layout v2's 199 elements (highs and lows of 12 bars) cost 8,226, the circuit 21,941. The features take 12
    // of the 24 highs and lows by wires, no constraint. The digest bits, FieldLowBits(180), are 2 * 180 + 2 * 74
    // + 3 = 511 (templates-field-bits.test.ts); folding them into the update adds a term to a linear constraint,
    // so the change from three public signals to two costs exactly those 511 (21,430 before, with layout v2).
    const digest = 14 * 609 + 537 - 4 * 3;
    expect(digest).toBe(9051);
    expect(circuit.constraints).toBe(digest + 511 + (924 + 4233) + 6818 + 844 + 345 + 40);
    expect(circuit.constraints).toBe(22766);
  });

  it("outputs the update, digest and statement the engine and the hashes give", async () => {
    expect(await outputsOf(honest.input)).toEqual(honest.publicSignals);
    const u = unpackUpdate(honest.publicSignals[0]);
    expect(u.mm).toBe(honest.trace.maintenanceMarginBps);
    expect(u.im).toBe(honest.trace.initialMarginBps);
    expect(u.dataTimestamp).toBe(BigInt(series.candles[series.candles.length - 1].time / 1000));
    expect(u.digest).toBe(digestSignal(honest.windowDigest));
    expect(honest.windowDigest).toBe((await signedAt(a)).digest);
  });

  it("has no witness with the digest bits or the update edited after the fact", async () => {
    const w = await circuit.witness(honest.input as never);
    const digestBits = circuit.read(w, "main.digestBits.out");
    expect(digestBits).toBe(digestSignal(honest.windowDigest));
    // Other low bits for the same digest (the update edited to match): the recomposition refuses them.
    const shifted = 1n << 72n;
    const forged = circuit.edit(w, {
      "main.digestBits.out": digestBits + 1n,
      "main.update": circuit.read(w, "main.update") + shifted,
    });
    expect(circuit.violated(forged).length).toBeGreaterThan(0);
    // The update alone: its defining constraint refuses it.
    const update = circuit.edit(w, { "main.update": circuit.read(w, "main.update") + shifted });
    expect(circuit.violated(update).length).toBeGreaterThan(0);
    expect(circuit.violated(w)).toEqual([]);
  });

  it("agrees on earlier windows too, signed by the other publisher", async () => {
    const publishers = await makePublisherSet([a.publicKey, b.publicKey], 1);
    for (const back of [1, 500, 3000]) {
      const built = await signedUpdateInput(model, "constant", {
        windows: [await signedAt(b, back)],
        publishers,
        domain: DOMAIN,
      });
      expect(await outputsOf(built.input), `${back} bars back`).toEqual(built.publicSignals);
    }
  });

  it("has no witness for candles edited after signing, in any part of the window", async () => {
    // high[0] .. high[11] are bars 61 .. 72, which no feature reads (the adaptive rule's outcomes do): the digest
    // binds them all the same
    const edits: [string, number][] = [
      ["close", 0],
      ["close", WINDOW_BARS - 1],
      ["volume", 40],
      ["high", 0],
      ["low", 11],
      ["high", 12],
      ["high", 23],
      ["low", 0],
      ["low", 23],
    ];
    expect(honest.input.high).toHaveLength(24);
    for (const [field, i] of edits) {
      const values = [...(honest.input[field] as string[])];
      values[i] = (BigInt(values[i]) + 1n).toString();
      const msg = await witnessFailure(circuit, { ...honest.input, [field]: values } as never);
      expect(msg, `${field}[${i}]`).toMatch(/Assert Failed/);
    }
  });

  it("has no witness for a timestamp, market or interval the window does not carry", async () => {
    for (const [name, value] of [
      ["dataTimestamp", BigInt(honest.input.dataTimestamp as string) + 7200n],
      ["marketId", marketIdOf("ETH-USDT")],
    ] as const) {
      const msg = await witnessFailure(circuit, { ...honest.input, [name]: value.toString() } as never);
      expect(msg, name).toMatch(/Assert Failed/);
    }
  });

  it("has no witness for a signature by a key outside the set, or the set's key with another's signature", async () => {
    const c = await publisher(3);
    const other = await signedAt(c);
    const swapped = {
      ...honest.input,
      signatureR8x: [other.signature.R8x.toString()],
      signatureR8y: [other.signature.R8y.toString()],
      signatureS: [other.signature.S.toString()],
    };
    expect(await witnessFailure(circuit, swapped as never)).toMatch(/Assert Failed/);
    // A's signature of another digest (the window one bar earlier).
    const earlier = await signDigest(a.privateKey, (await signedAt(a, 1)).digest);
    const stale = {
      ...honest.input,
      signatureR8x: [earlier.R8x.toString()],
      signatureR8y: [earlier.R8y.toString()],
      signatureS: [earlier.S.toString()],
    };
    expect(await witnessFailure(circuit, stale as never)).toMatch(/Assert Failed/);
  });

  it("states another statement key for another publisher set or domain", async () => {
    const keys: PublicKey[] = [a.publicKey];
    const alone = await signedUpdateInput(model, "constant", {
      windows: [await signedAt(a)],
      publishers: await makePublisherSet(keys, 1),
      domain: DOMAIN,
    });
    const elsewhere = await signedUpdateInput(model, "constant", {
      windows: [await signedAt(a)],
      publishers: await makePublisherSet([a.publicKey, b.publicKey], 1),
      domain: DOMAIN + 1n,
    });
    // One at a time: the witness calculator is one wasm instance.
    const statements: bigint[] = [];
    for (const x of [honest, alone, elsewhere]) statements.push((await outputsOf(x.input))[1]);
    expect(new Set(statements).size).toBe(3);
    expect(statements).toEqual([honest, alone, elsewhere].map((x) => x.publicSignals[1]));
  });
});
