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
import { MAX_OUTCOME_LAG } from "../../models/target";
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
  // every part at its largest: lag at MAX_OUTCOME_LAG = 11 = 0b1011, the largest the circuit's one-hot admits
  const full = {
    mm: max(16),
    im: max(16),
    dataTimestamp: max(40),
    before: { num: max(A.numBits), outcomes: max(A.outcomesBits) },
    marginS: max(A.marginSBits),
    lag: BigInt(MAX_OUTCOME_LAG),
    after: { num: max(A.numBits), outcomes: max(A.outcomesBits) },
    digest: max(A.digestBits),
  };
  // the bit of 15 that 11 lacks (bit 2 of the lag field)
  const lagGap = 1n << BigInt(A.lagShift + 2);

  it("is 253 bits below r, its fields adjacent, the prior at bits 72..127 with lag at 124..127", () => {
    expect(A.outcomesShift).toBe(A.numShift + A.numBits);
    expect(A.marginSShift).toBe(A.outcomesShift + A.outcomesBits);
    expect(A.lagShift).toBe(A.marginSShift + A.marginSBits);
    expect(A.newNumShift).toBe(A.lagShift + A.lagBits);
    expect(A.newOutcomesShift).toBe(A.newNumShift + A.numBits);
    expect(A.digestShift).toBe(A.newOutcomesShift + A.outcomesBits);
    expect(A.bits).toBe(A.digestShift + A.digestBits);
    expect([A.lagShift, A.newNumShift, A.digestShift, A.digestBits]).toEqual([124, 128, 166, 87]);
    expect(packAdaptiveUpdate(full)).toBe(max(253) - lagGap);
    expect(max(253)).toBeLessThan(FIELD_MODULUS);
    expect(packAdaptivePrior(full.before, full.marginS, full.lag)).toBe(max(56) - (lagGap >> 72n));
    // the lag is the prior's top 4 bits, above bar s's margin
    expect(packAdaptivePrior({ num: 0n, outcomes: 0n }, 0n, 5n)).toBe(5n << 52n);
  });

  it("unpacks what it packs, field by field, at every lag, and takes the digest's low 87 bits", () => {
    for (let lag = 0n; lag <= BigInt(MAX_OUTCOME_LAG); lag++) {
      const u = {
        mm: 1234n,
        im: 1851n,
        dataTimestamp: 1719712800n,
        before: { num: 12549376n, outcomes: 1499n },
        marginS: lag === 0n ? 0n : 800n + lag,
        lag,
        after: { num: 12561630n, outcomes: 1500n },
        digest: adaptiveDigestSignal(FIELD_MODULUS - 1n),
      };
      expect(unpackAdaptiveUpdate(packAdaptiveUpdate(u))).toEqual(u);
      expect(u.digest).toBe((FIELD_MODULUS - 1n) & max(87));
    }
  });

  it("has room for every width the circuits range-check its parts to (injective only then)", () => {
    // bar s's margin: AdaptiveCalibration's RangeCheck(MM_BITS); its lag: the one-hot of MAX_OUTCOME_LAG + 1
    // lags, so lag <= 11 < 2^4
    expect(ADAPTIVE_MM_BITS).toBe(A.marginSBits);
    expect(MAX_OUTCOME_LAG).toBeLessThan(2 ** A.lagBits);
    // an adaptive batch packs the batch's timestamp and the low 87 bits of its digest into every market's
    // adaptive update (adaptiveDigestSignal of the batch digest, fewer than the plain batch's 91)
    expect(A.digestBits).toBeLessThan(BATCH_PACKING.digestBits);
    expect(BATCH_PACKING.timestampBits).toBe(UPDATE_PACKING.timestampBits);
    expect(A.numShift).toBe(UPDATE_PACKING.timestampShift + UPDATE_PACKING.timestampBits);
  });

  it("refuses a part wider than its bits, and a lag above 11", () => {
    expect(() => packAdaptiveUpdate({ ...full, after: { ...full.after, num: 1n << 27n } })).toThrow(
      /new num/,
    );
    expect(() => packAdaptiveUpdate({ ...full, marginS: 1n << 14n })).toThrow(/marginS/);
    expect(() => packAdaptiveUpdate({ ...full, digest: 1n << 87n })).toThrow(/digest signal/);
    expect(() => packAdaptiveUpdate({ ...full, mm: 1n << 16n })).toThrow(/mm/);
    for (const lag of [12n, 15n, 16n, -1n]) {
      expect(() => packAdaptiveUpdate({ ...full, lag })).toThrow(`lag ${lag} is not in [0, 11]`);
    }
  });
});
