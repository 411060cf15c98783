/**
 * The market id: how a market is named in every field element that carries it (the proof's public signal, the
 * signed window's digest, the oracle's market key). It belongs to the data, before any proof.
 */
import { packAscii, toField } from "../crypto/field";
import { UsageError } from "../core/errors";

/**
 * A market id from its label: a decimal number is taken as is; otherwise the label (printable ASCII,
 * at most 31 bytes, e.g. "BTC-USDT") is packed big-endian into one field element. An empty label, one with
 * spaces around it, and 0 are refused: each would name a market by accident (the empty label is id 0, and
 * " BTC-USDT" is not BTC-USDT's id).
 * @throws UsageError `--market: ` and {@link marketLabelProblem}'s sentence
 */
export function marketIdOf(label: string): bigint {
  const problem = marketLabelProblem(label);
  if (problem !== undefined) throw new UsageError(`--market: ${problem}`);
  return /^\d+$/.test(label) ? BigInt(label) : packAscii(label);
}

/** What is wrong with a market label, as a sentence naming it, or undefined when it names a market. */
export function marketLabelProblem(label: string): string | undefined {
  if (label.trim() === "") return `'${label}' is empty: name the market, e.g. BTC-USDT`;
  if (label.trim() !== label)
    return `'${label}' has spaces around it, which would make it another market's id`;
  if (/^\d+$/.test(label)) {
    const v = BigInt(label);
    if (v === 0n) return "0 is no market's id (market ids are above 0)";
    if (v !== toField(v)) return `${label} is not below the field modulus`;
    return undefined;
  }
  if (!/^[\x20-\x7e]{1,31}$/.test(label))
    return `'${label}' must be a number or printable ASCII of at most 31 bytes`;
  return undefined;
}

/**
 * A market id as text: the ASCII label it packs (the inverse of `marketIdOf` on a label), or its decimal digits
 * when its bytes are not printable ASCII.
 */
export function marketLabel(marketId: bigint): string {
  let label = "";
  for (let v = marketId; v > 0n; v >>= 8n) {
    const byte = Number(v & 0xffn);
    if (byte < 0x20 || byte > 0x7e) return marketId.toString();
    label = String.fromCharCode(byte) + label;
  }
  return label.length > 0 ? label : marketId.toString();
}
