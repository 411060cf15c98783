/**
 * The market id: how a market is named in every field element that carries it (the proof's public signal, the
 * signed window's digest, the oracle's market key). It belongs to the data, before any proof.
 */
import { packAscii, toField } from "../crypto/field";
import { UsageError } from "../core/errors";

/**
 * A market id from its label: a decimal number is taken as is; otherwise the label (printable ASCII,
 * at most 31 bytes, e.g. "BTC-USDT") is packed big-endian into one field element.
 */
export function marketIdOf(label: string): bigint {
  if (/^\d+$/.test(label)) {
    const v = BigInt(label);
    if (v !== toField(v)) throw new UsageError(`--market: ${label} is not below the field modulus`);
    return v;
  }
  try {
    return packAscii(label);
  } catch {
    throw new UsageError(`--market: '${label}' must be a number or printable ASCII of at most 31 bytes`);
  }
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
