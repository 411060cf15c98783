/** Minimal structural checks for model files, with messages that name the file and the field. */
import { ModelError } from "./errors";

type Json = Record<string, unknown>;

/** A reader that walks a parsed JSON document and reports the first bad field as `file: field: reason`. */
export class JsonReader {
  constructor(
    private readonly file: string,
    private readonly value: unknown,
    private readonly path = "",
  ) {}

  private fail(reason: string): never {
    throw new ModelError(`${this.file}: ${this.path || "(root)"}: ${reason}`);
  }

  /** The child reader at `key` (object field or array index). */
  at(key: string | number): JsonReader {
    const p = typeof key === "number" ? `${this.path}[${key}]` : this.path ? `${this.path}.${key}` : key;
    if (typeof key === "number") return new JsonReader(this.file, this.array()[key], p);
    const obj = this.object();
    if (!(key in obj)) new JsonReader(this.file, undefined, p).fail("missing");
    return new JsonReader(this.file, obj[key], p);
  }

  object(): Json {
    if (typeof this.value !== "object" || this.value === null || Array.isArray(this.value)) {
      this.fail(`expected an object, got ${JSON.stringify(this.value)}`);
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
      this.fail(`expected a finite number, got ${JSON.stringify(this.value)}`);
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
    if (typeof this.value !== "string") this.fail(`expected a string, got ${JSON.stringify(this.value)}`);
    return this.value as string;
  }

  /** A bigint written as a decimal string (JSON numbers cannot hold them exactly). */
  bigint(): bigint {
    const s = this.string();
    if (!/^-?\d+$/.test(s)) this.fail(`expected a decimal integer string, got ${JSON.stringify(s)}`);
    return BigInt(s);
  }

  literal<T extends string>(...allowed: T[]): T {
    const s = this.string();
    if (!allowed.includes(s as T))
      this.fail(`expected one of ${allowed.join(", ")}, got ${JSON.stringify(s)}`);
    return s as T;
  }

  boolean(): boolean {
    if (typeof this.value !== "boolean")
      this.fail(`expected true or false, got ${JSON.stringify(this.value)}`);
    return this.value as boolean;
  }

  /** Raise an error about this field. */
  error(reason: string): never {
    this.fail(reason);
  }
}
