/**
 * File helpers: atomic JSON writes (through core/atomic-file.ts), hashes, JSON reading with errors that name the file
 * (and the line and column: core/json-text.ts).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "./atomic-file";
import { ZkriskError } from "./errors";
import { parseJsonText } from "./json-text";

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

/**
 * Read and parse a JSON file (`parseJsonText`: a key held twice in one object is refused).
 * @param code the error's code, the family of the document (`CONFIG_INVALID` for a config...).
 * @throws ZkriskError `path: file not found` (`readFailure`); JsonTextError `path:line:column: not valid JSON: ...`
 *   or `path:line:column: duplicate key 'k' (first at line L)`.
 */
export function readJsonFile(path: string, code = "FILE_INVALID"): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ZkriskError(code, `${path}: ${readFailure(err)}`);
  }
  return parseJsonText(text, path, code);
}
