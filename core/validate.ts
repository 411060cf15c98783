/**
 * Minimal structural checks for JSON documents (model files, the service and publisher configs, HTTP
 * payloads), with messages that name the file and the field, and the field readers the config files share.
 */
import { resolve } from "node:path";
import { ModelError } from "./errors";
import { entryKind } from "./paths";

type Json = Record<string, unknown>;

/**
 * Builds the error a reader raises. `field` is the path of the bad field (`markets[1].candles`), or
 * `(root)` for the document itself; the message is expected to read `file: field: reason`.
 */
export type JsonErrorFactory = (file: string, field: string, reason: string) => Error;

const modelError: JsonErrorFactory = (file, field, reason) => new ModelError(`${file}: ${field}: ${reason}`);

/** The most characters of a value an error message shows ({@link preview}). */
export const PREVIEW_CHARS = 80;

/**
 * A value as an error message shows it: its JSON, cut to {@link PREVIEW_CHARS} characters (`…` marks the cut), or,
 * when JSON.stringify cannot write it (nested too deep for the stack, a bigint), its kind (`an array`). Never throws
 * and costs at most a walk of the value: a hostile document (a publisher's answer, a window file) gets its bad
 * field named, not a RangeError, and a megabyte string does not end up in the message.
 */
export function preview(value: unknown): string {
  let text: string | undefined;
  try {
    // a long string is cut before it is escaped, so its preview costs no copy of it
    text = JSON.stringify(typeof value === "string" ? value.slice(0, PREVIEW_CHARS) : value);
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    text = Array.isArray(value)
      ? "an array"
      : value === null
        ? "null"
        : typeof value === "object"
          ? "an object"
          : String(value);
  }
  const long = text.length > PREVIEW_CHARS || (typeof value === "string" && value.length > PREVIEW_CHARS);
  return long ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}

/**
 * A reader that walks a parsed JSON document and reports the first bad field as `file: field: reason`,
 * by default as a ModelError (pass `makeError` to raise another error family).
 */
export class JsonReader {
  constructor(
    private readonly file: string,
    private readonly value: unknown,
    private readonly path = "",
    private readonly makeError: JsonErrorFactory = modelError,
  ) {}

  private fail(reason: string): never {
    throw this.makeError(this.file, this.field, reason);
  }

  private child(key: string | number, value: unknown): JsonReader {
    const p = typeof key === "number" ? `${this.path}[${key}]` : this.path ? `${this.path}.${key}` : key;
    return new JsonReader(this.file, value, p, this.makeError);
  }

  /** The path of this field (`markets[1].candles`), `(root)` for the document itself. */
  get field(): string {
    return this.path || "(root)";
  }

  /** The child reader at `key` (object field or array index). */
  at(key: string | number): JsonReader {
    if (typeof key === "number") return this.child(key, this.array()[key]);
    const obj = this.object();
    if (!(key in obj)) this.child(key, undefined).fail("missing");
    return this.child(key, obj[key]);
  }

  /** The value as parsed, to branch on its JSON type (a field that may be a number or a string). */
  raw(): unknown {
    return this.value;
  }

  /** Whether this object has its own field `key` (for optional fields). */
  has(key: string): boolean {
    return Object.hasOwn(this.object(), key);
  }

  /** The reader at `key`, or undefined when this object has no such field. */
  optional(key: string): JsonReader | undefined {
    return this.has(key) ? this.child(key, this.object()[key]) : undefined;
  }

  /** Rejects any field not in `allowed`, so that a misspelt optional field is an error, not ignored. */
  onlyKeys(allowed: readonly string[]): this {
    for (const key of Object.keys(this.object())) {
      if (!allowed.includes(key)) {
        this.child(key, undefined).fail(`unknown key (expected one of ${allowed.join(", ")})`);
      }
    }
    return this;
  }

  object(): Json {
    if (typeof this.value !== "object" || this.value === null || Array.isArray(this.value)) {
      this.fail(`expected an object, got ${preview(this.value)}`);
    }
    return this.value as Json;
  }

  array(length?: number): unknown[] {
    if (!Array.isArray(this.value)) this.fail(`expected an array, got ${typeof this.value}`);
    const arr = this.value as unknown[];
    if (length !== undefined && arr.length !== length)
      this.fail(`expected ${length} entries, got ${arr.length}`);
    return arr;
  }

  /** Readers for every element of an array field. */
  items(length?: number): JsonReader[] {
    return this.array(length).map((_, i) => this.at(i));
  }

  number(): number {
    if (typeof this.value !== "number" || !Number.isFinite(this.value)) {
      this.fail(`expected a finite number, got ${preview(this.value)}`);
    }
    return this.value as number;
  }

  integer(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.number();
    if (!Number.isInteger(v) || v < min || v > max)
      this.fail(`expected an integer in [${min}, ${max}], got ${v}`);
    return v;
  }

  string(): string {
    if (typeof this.value !== "string") this.fail(`expected a string, got ${preview(this.value)}`);
    return this.value as string;
  }

  /** A bigint written as a decimal string (JSON numbers cannot hold them exactly). */
  bigint(): bigint {
    const s = this.string();
    if (!/^-?\d+$/.test(s)) this.fail(`expected a decimal integer string, got ${preview(s)}`);
    return BigInt(s);
  }

  literal<T extends string>(...allowed: T[]): T {
    const s = this.string();
    if (!allowed.includes(s as T)) this.fail(`expected one of ${allowed.join(", ")}, got ${preview(s)}`);
    return s as T;
  }

  boolean(): boolean {
    if (typeof this.value !== "boolean") this.fail(`expected true or false, got ${preview(this.value)}`);
    return this.value as boolean;
  }

  /** Raise an error about this field. */
  error(reason: string): never {
    this.fail(reason);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Field readers shared by the config files (the prover service's, the publisher's)

/**
 * An optional number field of `r`: `fallback` when absent, else a number in [min, max] (an integer unless
 * `integer` is false; `exclusiveMin` excludes `min` itself).
 */
export function optionalNumber(
  r: JsonReader,
  key: string,
  fallback: number,
  min: number,
  max: number,
  { integer = true, exclusiveMin = false } = {},
): number {
  const f = r.optional(key);
  if (f === undefined) return fallback;
  if (integer) return f.integer(min, max);
  const v = f.number();
  if ((exclusiveMin ? v <= min : v < min) || v > max) {
    f.error(`expected a number in ${exclusiveMin ? "(" : "["}${min}, ${max}], got ${v}`);
  }
  return v;
}

/** A string field that is not empty. */
export function nonEmptyString(r: JsonReader): string {
  const s = r.string();
  if (s === "") r.error("expected a non-empty string");
  return s;
}

/**
 * A sha256 field as zkrisk writes one (`sha256File`: 64 lowercase hex digits); anything else is an error naming
 * the field and the value.
 */
export function readSha256(r: JsonReader): string {
  const v = r.string();
  if (!/^[0-9a-f]{64}$/.test(v)) r.error(`expected 64 lowercase hex digits (a sha256), got ${preview(v)}`);
  return v;
}

/** Whether `text` parses as an http: or https: URL. */
export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** A string field holding an http(s) URL. */
export function httpUrl(r: JsonReader): string {
  const text = r.string();
  if (!isHttpUrl(text)) r.error(`expected an http(s) URL, got ${preview(text)}`);
  return text;
}

/** Whether a file (or a directory) exists at `path`. */
export function isKind(path: string, kind: "file" | "directory"): boolean {
  return entryKind(path) === kind;
}

/**
 * What is wrong with `path` as a `kind` that must exist, in words, or undefined when it is one: `file P does not
 * exist`, `P is a directory, not a file`, `P is a file, not a directory` (or `P is not a file` for anything else).
 */
export function pathKindProblem(path: string, kind: "file" | "directory"): string | undefined {
  const found = entryKind(path);
  if (found === undefined) return `${kind} ${path} does not exist`;
  if (found === kind) return undefined;
  return found === "special" ? `${path} is not a ${kind}` : `${path} is a ${found}, not a ${kind}`;
}

/** A path field resolved against `base`, naming a file or directory that exists. */
export function existingPath(r: JsonReader, base: string, kind: "file" | "directory"): string {
  const path = resolve(base, nonEmptyString(r));
  const problem = pathKindProblem(path, kind);
  if (problem !== undefined) r.error(problem);
  return path;
}
