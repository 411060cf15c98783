/**
 * The market id: how a market is named in every field element that carries it (the proof's public signal, the
 * signed window's digest, the oracle's market key). It belongs to the data, before any proof.
 */
import { packAscii } from "../circuits/commitments";
import { toField } from "../circuits/field";
import { UsageError } from "../models/errors";

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
