/**
 * Integer candles: the OHLCV bars a publisher signs and a circuit will read, as fixed-point bigints at
 * declared scales, each field under a declared bit width so that a circuit can range-check it with one
 * `Num2Bits(BITS)`.
 *
 * Scales (why these):
 * - Prices: 8 decimals (`PRICE_DECIMALS`), i.e. one unit = 1e-8 of the quote currency. Binance quotes every
 *   spot and perpetual price with at most 8 decimals (BTC-USDT with 2, small caps such as SHIB-USDT with 8),
 *   so any exchange price converts exactly.
 * - Volume: 8 decimals (`VOLUME_DECIMALS`) of the base asset: Binance's finest quantity step (1e-8 BTC, one
 *   satoshi), so reported volumes convert exactly too. The shipped BTC-USDT file has at most 8.
 *
 * Bounds (bit widths, each value v satisfies 0 <= v < 2^BITS):
 * - Prices: `PRICE_BITS` = 64, i.e. below 1.8e11 quote units: BTC at a million USD is 1e14 units (47 bits),
 *   and quotes in currencies worth 1e-5 USD still fit. 64-bit prices keep a squared price difference at 128
 *   bits, so a sum of squares over a window stays far below the 254-bit field.
 * - Volume: `VOLUME_BITS` = 80, i.e. below 1.2e16 base units per bar: meme tokens trade 1e12 to 1e13 tokens
 *   a day, which 64 bits (1.8e11 units) would not hold.
 * - A bar's open time is not a signed field: in a window it is implied by its position (see window.ts).
 *
 * Conversion from the float candles of candles/load-data.ts is exact or refuses: a value is read as the
 * shortest decimal that round-trips its float64 (what the CSV cell held, for any cell of at most 15
 * significant digits), and one with more decimals than the scale, or over its bound, is a DataError naming
 * the bar and the field.
 */
import { DataError } from "../core/errors";
import type { Candle } from "./types";

/** Decimals of every price (open, high, low, close): one unit is 1e-8 of the quote currency. */
export const PRICE_DECIMALS = 8;
/** Decimals of the volume: one unit is 1e-8 of the base asset. */
export const VOLUME_DECIMALS = 8;
/** Bit width of every price: 0 < price < 2^64 units. */
export const PRICE_BITS = 64;
/** Bit width of the volume: 0 <= volume < 2^80 units. */
export const VOLUME_BITS = 80;

/** The price fields of a candle, in the order they are signed. */
export const PRICE_FIELDS = ["open", "high", "low", "close"] as const;
/** Every integer field of a candle, in the order they are signed (after the `missing` flag). */
export const INTEGER_CANDLE_FIELDS = [...PRICE_FIELDS, "volume"] as const;

/** The name of an integer field of a candle. */
export type IntegerCandleField = (typeof INTEGER_CANDLE_FIELDS)[number];

/**
 * One bar as integers. Prices are fixed point at `PRICE_DECIMALS` (1e-8 quote units), the volume at
 * `VOLUME_DECIMALS` (1e-8 base units). A bar the window lacks has `missing: true` and every field 0n.
 */
export interface IntegerCandle {
  /** Open time, milliseconds since the Unix epoch (UTC). */
  time: number;
  /** True for a bar the source does not have; then open = high = low = close = volume = 0n. */
  missing: boolean;
  open: bigint;
  high: bigint;
  low: bigint;
  close: bigint;
  volume: bigint;
}

/** The bit width declared for an integer field. */
export function fieldBits(field: IntegerCandleField): number {
  return field === "volume" ? VOLUME_BITS : PRICE_BITS;
}

/** The decimals declared for an integer field. */
export function fieldDecimals(field: IntegerCandleField): number {
  return field === "volume" ? VOLUME_DECIMALS : PRICE_DECIMALS;
}

/** The missing bar at open time `time` (ms): flag set, every field 0n. */
export function missingCandle(time: number): IntegerCandle {
  return { time, missing: true, open: 0n, high: 0n, low: 0n, close: 0n, volume: 0n };
}

/**
 * `x` as a fixed-point integer with `decimals` decimals, exactly, or undefined when the shortest decimal
 * of `x` has more decimals (or `x` is negative or not finite).
 */
export function toFixedPoint(x: number, decimals: number): bigint | undefined {
  if (!Number.isFinite(x) || x < 0) return undefined;
  // The shortest decimal that round-trips x: "4261.48", "1e-7", "1.5e+21".
  const match = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(x));
  if (match === null) return undefined;
  const [, whole, fraction = "", exponent = "0"] = match;
  const digits = BigInt(whole + fraction);
  const shift = decimals - fraction.length + Number(exponent);
  if (shift >= 0) return digits * 10n ** BigInt(shift);
  const divisor = 10n ** BigInt(-shift);
  return digits % divisor === 0n ? digits / divisor : undefined;
}

/** A fixed-point integer as its decimal text (`fixedPointText(426148000000n, 8)` is "4261.48"). */
export function fixedPointText(v: bigint, decimals: number): string {
  const negative = v < 0n;
  const digits = (negative ? -v : v).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction === "" ? "" : `.${fraction}`}`;
}

/**
 * The reason an integer field breaks its declared bound, or undefined when it keeps it: prices in
 * (0, 2^PRICE_BITS) and the volume in [0, 2^VOLUME_BITS) for a present bar; 0n for a missing one.
 */
export function fieldBoundViolation(
  field: IntegerCandleField,
  v: bigint,
  missing: boolean,
): string | undefined {
  if (missing) return v === 0n ? undefined : `${field} of a missing bar must be 0, got ${v}`;
  const bits = fieldBits(field);
  const min = field === "volume" ? 0n : 1n;
  if (v < min || v >= 1n << BigInt(bits)) {
    return `${field} ${v} is outside [${min}, 2^${bits})`;
  }
  return undefined;
}

/**
 * The first reason an integer candle is not well formed, or undefined: every field within its bound (see
 * `fieldBoundViolation`) and, for a present bar, low <= open, close <= high (the loader's rules).
 */
export function integerCandleViolation(c: IntegerCandle): string | undefined {
  for (const field of INTEGER_CANDLE_FIELDS) {
    const violation = fieldBoundViolation(field, c[field], c.missing);
    if (violation !== undefined) return violation;
  }
  if (c.missing) return undefined;
  for (const price of ["open", "close"] as const) {
    if (c.low > c[price]) return `low ${c.low} > ${price} ${c[price]}`;
    if (c.high < c[price]) return `high ${c.high} < ${price} ${c[price]}`;
  }
  return undefined;
}

/**
 * Converts one float candle (candles/load-data.ts) to integers, exactly.
 * @param source file or label of the series, for messages.
 * @throws DataError `source: bar <ISO time>: <field> <value> ...` when a value has more decimals than its
 *   scale or breaks its bound.
 */
export function integerCandleOf(candle: Candle, source: string): IntegerCandle {
  const r = convertCandle(candle);
  if (typeof r === "string")
    throw new DataError(source, undefined, `bar ${new Date(candle.time).toISOString()}: ${r}`);
  return r;
}

/**
 * Why a candle has no integer form (a value with more decimals than its scale, or beyond its bound), or
 * undefined when it has one: what a loader checks on each row, to name the row's line.
 */
export function integerCandleProblem(
  candle: Candle,
  written?: Partial<Record<keyof Candle, string>>,
): string | undefined {
  const r = convertCandle(candle, written);
  return typeof r === "string" ? r : undefined;
}

/** The integer candle, or what stops it (naming each value as `written`, when given). */
function convertCandle(
  candle: Candle,
  written?: Partial<Record<keyof Candle, string>>,
): IntegerCandle | string {
  const out: IntegerCandle = { ...missingCandle(candle.time), missing: false };
  for (const field of INTEGER_CANDLE_FIELDS) {
    const decimals = fieldDecimals(field);
    const v = toFixedPoint(candle[field], decimals);
    if (v === undefined)
      return `${field} ${written?.[field] ?? candle[field]} does not fit ${decimals} decimals`;
    if (fieldBoundViolation(field, v, false) !== undefined) {
      // Named as written, with its bound in the same units.
      const bits = fieldBits(field);
      const min = fixedPointText(field === "volume" ? 0n : 1n, decimals);
      const max = fixedPointText((1n << BigInt(bits)) - 1n, decimals);
      return (
        `${field} ${written?.[field] ?? candle[field]} is outside [${min}, ${max}] ` +
        `(${decimals} decimals in ${bits} bits)`
      );
    }
    out[field] = v;
  }
  return out;
}
