/** File helpers: atomic writes, hashes, JSON reading with errors that name the file. */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ZkriskError } from "./errors";

/** Write `data` to `path` through a temporary file and a rename, so readers never see half a file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Write a JSON document atomically (two-space indentation, trailing newline). */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
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
    throw new ZkriskError(code, `${path}: cannot read file: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ZkriskError(code, `${path}: not valid JSON: ${(err as Error).message}`);
  }
}
