/**
 * circuits/statement.ts: the packed update of a signed-update proof (MM, IM, data timestamp and the window
 * digest's low 180 bits) and `digestSignal`, the one way to compare a window's digest with a proof or an event.
 * The circuit's side is pinned in signed-update-circuit.test.ts and templates-field-bits.test.ts, the oracle's in
 * test/contracts/signed-update*.test.ts.
 */
import { describe, expect, it } from "vitest";
import { FIELD_MODULUS } from "../../crypto/field";
import { digestSignal as reexported } from "../../circuits/public-signals";
import { ADAPTIVE_MM_BITS } from "../../circuits/adaptive-params";
import { BATCH_PACKING } from "../../circuits/batch-statement";
import {
  ADAPTIVE_UPDATE_PACKING,
  adaptiveDigestSignal,
  digestSignal,
  packAdaptivePrior,
  packAdaptiveUpdate,
  packUpdate,
  unpackAdaptiveUpdate,
  unpackUpdate,
  UPDATE_PACKING,
} from "../../circuits/statement";

const TWO_180 = 1n << 180n;

describe("the packed update", () => {
  it("fits below r with room to spare: 16 + 16 + 40 + 180 = 252 bits, and the fields do not overlap", () => {
    const P = UPDATE_PACKING;
    expect(P.timestampShift).toBe(2 * P.imShift);
    expect(P.digestShift).toBe(P.timestampShift + P.timestampBits);
    expect(P.bits).toBe(P.digestShift + P.digestBits);
    expect(1n << BigInt(P.bits)).toBeLessThan(FIELD_MODULUS);
  });

  it("unpacks what it packs, at the boundaries of every field", () => {
    for (const u of [
      { mm: 0n, im: 0n, dataTimestamp: 0n, digest: 0n },
      { mm: 65535n, im: 65535n, dataTimestamp: (1n << 40n) - 1n, digest: TWO_180 - 1n },
      { mm: 2400n, im: 3600n, dataTimestamp: 1_719_784_800n, digest: digestSignal(FIELD_MODULUS - 1n) },
    ]) {
      const packed = packUpdate(u);
      expect(packed >> 252n).toBe(0n);
      expect(unpackUpdate(packed)).toEqual(u);
    }
  });

  it("refuses a field that does not fit, naming it", () => {
    const ok = { mm: 1n, im: 2n, dataTimestamp: 3n, digest: 4n };
    expect(() => packUpdate({ ...ok, mm: 65536n })).toThrow(/mm 65536 does not fit 16 bits/);
    expect(() => packUpdate({ ...ok, im: -1n })).toThrow(/im -1/);
    expect(() => packUpdate({ ...ok, dataTimestamp: 1n << 40n })).toThrow(/data timestamp .* 40 bits/);
    expect(() => packUpdate({ ...ok, digest: TWO_180 })).toThrow(
      /digest signal .* 180 bits \(use digestSignal\)/,
    );
  });
});

describe("digestSignal", () => {
  it("is the digest's low 180 bits, the same function through public-signals.ts", () => {
    expect(reexported).toBe(digestSignal);
    expect(digestSignal(0n)).toBe(0n);
    expect(digestSignal(TWO_180 + 5n)).toBe(5n);
    expect(digestSignal(FIELD_MODULUS - 1n)).toBe((FIELD_MODULUS - 1n) % TWO_180);
  });

  it("refuses a value that is not a field element (an aliased digest)", () => {
    expect(() => digestSignal(FIELD_MODULUS)).toThrow(/is not a field element/);
    expect(() => digestSignal(-1n)).toThrow(RangeError);
  });
});

describe("the adaptive packed update (ADAPTIVE_UPDATE_PACKING)", () => {
  const max = (bits: number) => (1n << BigInt(bits)) - 1n;
  const A = ADAPTIVE_UPDATE_PACKING;
  const full = {
    mm: max(16),
    im: max(16),
    dataTimestamp: max(40),
    before: { num: max(A.numBits), outcomes: max(A.outcomesBits) },
    marginS: max(A.marginSBits),
    after: { num: max(A.numBits), outcomes: max(A.outcomesBits) },
    digest: max(A.digestBits),
  };

  it("is 253 bits below r, its fields adjacent and the prior at bits 72..123", () => {
    expect(A.outcomesShift).toBe(A.numShift + A.numBits);
    expect(A.marginSShift).toBe(A.outcomesShift + A.outcomesBits);
    expect(A.newNumShift).toBe(A.marginSShift + A.marginSBits);
    expect(A.newOutcomesShift).toBe(A.newNumShift + A.numBits);
    expect(A.digestShift).toBe(A.newOutcomesShift + A.outcomesBits);
    expect(A.bits).toBe(A.digestShift + A.digestBits);
    expect(packAdaptiveUpdate(full)).toBe(max(253));
    expect(max(253)).toBeLessThan(FIELD_MODULUS);
    expect(packAdaptivePrior(full.before, full.marginS)).toBe(max(52));
  });

  it("unpacks what it packs, field by field, and takes the digest's low 91 bits", () => {
    const u = {
      mm: 1234n,
      im: 1851n,
      dataTimestamp: 1719712800n,
      before: { num: 12549376n, outcomes: 1499n },
      marginS: 0n,
      after: { num: 12561630n, outcomes: 1500n },
      digest: adaptiveDigestSignal(FIELD_MODULUS - 1n),
    };
    expect(unpackAdaptiveUpdate(packAdaptiveUpdate(u))).toEqual(u);
    expect(u.digest).toBe((FIELD_MODULUS - 1n) & max(91));
  });

  it("has room for every width the circuits range-check its parts to (injective only then)", () => {
    // bar s's margin: AdaptiveCalibration's RangeCheck(MM_BITS)
    expect(ADAPTIVE_MM_BITS).toBe(A.marginSBits);
    // an adaptive batch packs the batch's timestamp and digest bits into every market's adaptive update, and the
    // prover, the oracle and the audit read that digest part with batchDigestSignal (BATCH_PACKING's width)
    expect(BATCH_PACKING.digestBits).toBe(A.digestBits);
    expect(BATCH_PACKING.timestampBits).toBe(UPDATE_PACKING.timestampBits);
    expect(A.numShift).toBe(UPDATE_PACKING.timestampShift + UPDATE_PACKING.timestampBits);
  });

  it("refuses a part wider than its bits", () => {
    expect(() => packAdaptiveUpdate({ ...full, after: { ...full.after, num: 1n << 27n } })).toThrow(
      /new num/,
    );
    expect(() => packAdaptiveUpdate({ ...full, marginS: 1n << 14n })).toThrow(/marginS/);
    expect(() => packAdaptiveUpdate({ ...full, digest: 1n << 91n })).toThrow(/digest signal/);
    expect(() => packAdaptiveUpdate({ ...full, mm: 1n << 16n })).toThrow(/mm/);
  });
});
