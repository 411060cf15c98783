/** File helpers: atomic JSON writes (through core/atomic-file.ts), hashes, JSON reading with errors that name the file. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "./atomic-file";
import { ZkriskError } from "./errors";

/**
 * Why a file could not be read, in words: `file not found`, `is a directory, not a file`, or `cannot read file:`
 * and the system's message (permission denied...).
 */
export function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "file not found";
  if (code === "EISDIR") return "is a directory, not a file";
  return `cannot read file: ${err instanceof Error ? err.message : String(err)}`;
}

/** Write a JSON document durably and atomically (two-space indentation, trailing newline; see core/atomic-file.ts). */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, jsonText(value));
}

/** A JSON file's text as the project writes it: two-space indents and a final newline. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/** sha256 of bytes, as lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** sha256 of a file's bytes, as lowercase hex. */
export function sha256File(path: string): string {
  return sha256Hex(readFileSync(path));
}

/** Read and parse a JSON file; errors name the file. */
export function readJsonFile(path: string, code = "FILE_INVALID"): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ZkriskError(code, `${path}: ${readFailure(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ZkriskError(code, `${path}: not valid JSON: ${(err as Error).message}`);
  }
}
