/**
 * Shared core: JSON documents checked against a TypeBox schema, the one definition of a document. From the
 * schema come its TypeScript type (`Static<>`), its validator (`compileSchemaCheck`) and the JSON Schema file
 * shipped for editors and other tools (`jsonSchemaFile`).
 *
 * The validator reports the first field that breaks the schema in the words the project's hand-written readers
 * use (core/validate.ts): `markets[0].model: missing`, `concurrency: expected an integer in [1, 64], got 0`,
 * `chain.rcp: unknown key (expected one of rpc, oracle, ...)`. Two extensions say more than a keyword can:
 * - `errorMessage` on a schema: templates by keyword (`pattern`, `format`, `minLength`, `maxLength`, `minItems`,
 *   `maxItems`) that say what the field holds, e.g. `"expected an environment variable name, got {value}"`.
 *   `{value}` is the bad value as JSON, `{count}` an array's length, `{limit}` the keyword's bound. A union's
 *   `exclusive` template names a key that belongs to another variant (`{variant}`: that variant's first key).
 * - a union (`anyOf`) of objects is a choice by each variant's first key: a document must hold exactly one of
 *   them (`expected exactly one of "env" or "keystore"`), then it is checked against that variant alone.
 * `jsonSchemaFile` leaves `errorMessage` out, so the file is plain JSON Schema (draft-07).
 */
import { FormatRegistry, type TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Errors, ValueErrorType, type ValueError } from "@sinclair/typebox/errors";

// JSON Schema's `uri` format: text that parses as an absolute URL (WHATWG). Registered once per process.
if (!FormatRegistry.Has("uri")) FormatRegistry.Set("uri", (text) => URL.canParse(text));

/** The first place a document breaks its schema. */
export interface SchemaViolation {
  /** Path of the bad field (`markets[1].publishers.urls[0]`), `(root)` for the document itself. */
  field: string;
  /** What is wrong, naming the bad value (`expected an integer in [1, 64], got 0`). */
  reason: string;
}

/** A compiled schema: undefined for a valid document, else its first violation. */
export type SchemaCheck = (value: unknown) => SchemaViolation | undefined;

/** Compiles `schema` once; the returned check is cheap for valid documents. */
export function compileSchemaCheck(schema: TSchema): SchemaCheck {
  const compiled = TypeCompiler.Compile(schema);
  return (value) => (compiled.Check(value) ? undefined : firstViolation(schema, value));
}

/** The draft this project's schema files declare. */
export const JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#";

/**
 * `schema` as a JSON Schema document: `$schema` and the given header first, then the schema without the
 * project's `errorMessage` templates (TypeBox's own markers are symbols and do not serialise).
 */
export function jsonSchemaFile(
  schema: TSchema,
  header: Record<string, string> = {},
): Record<string, unknown> {
  const plain = JSON.parse(
    JSON.stringify(schema, (key, value: unknown) => (key === "errorMessage" ? undefined : value)),
  );
  return { $schema: JSON_SCHEMA_DRAFT, ...header, ...plain };
}

// ---------------------------------------------------------------------------------------------------------

type Vars = Record<string, string>;

function firstViolation(schema: TSchema, value: unknown): SchemaViolation {
  const error = firstError(schema, value);
  if (error === undefined)
    throw new Error("compileSchemaCheck: the compiled check and the error walk disagree");
  return violationOf(error, value, "");
}

/**
 * The first error TypeBox reports, except that an object's unknown key comes before its missing ones (TypeBox
 * reports missing keys first): a misspelt required key is named as the typo, not as missing.
 */
function firstError(schema: TSchema, value: unknown): ValueError | undefined {
  const parent = (error: ValueError) => error.path.slice(0, error.path.lastIndexOf("/"));
  let first: ValueError | undefined;
  for (const error of Errors(schema, value)) {
    if (first === undefined) {
      first = error;
      if (error.type !== ValueErrorType.ObjectRequiredProperty) return first;
    } else if (error.type === ValueErrorType.ObjectRequiredProperty && parent(error) === parent(first)) {
      continue;
    } else {
      const unknownSibling =
        error.type === ValueErrorType.ObjectAdditionalProperties && parent(error) === parent(first);
      return unknownSibling ? error : first;
    }
  }
  return first;
}

/** The violation of `error`, found under the JSON pointer `base` of the document `root`. */
function violationOf(error: ValueError, root: unknown, base: string): SchemaViolation {
  const pointer = base + error.path;
  const at = (reason: string): SchemaViolation => ({ field: fieldName(root, pointer), reason });
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return at("missing");
    case ValueErrorType.ObjectAdditionalProperties:
      return at(unknownKey(propertyNames(error.schema)));
    case ValueErrorType.Union:
      return unionViolation(error.schema, error.value, root, pointer);
    default:
      return at(reasonOf(error));
  }
}

/**
 * A union of objects, chosen by each variant's first key: exactly one must be present, a key of another
 * variant is named as such, and the chosen variant's own first violation is reported otherwise.
 */
function unionViolation(schema: TSchema, value: unknown, root: unknown, pointer: string): SchemaViolation {
  const at = (path: string, reason: string): SchemaViolation => ({
    field: fieldName(root, pointer + path),
    reason,
  });
  const variants = (schema.anyOf ?? []) as TSchema[];
  if (!variants.every((v) => v.type === "object")) {
    throw new Error("json-schema: only unions of objects are supported");
  }
  if (!isPlainObject(value)) return at("", `expected an object, got ${JSON.stringify(value)}`);
  const tags = variants.map((v) => propertyNames(v)[0]);
  const present = tags.filter((tag) => Object.hasOwn(value, tag));
  if (present.length !== 1) {
    return at("", `expected exactly one of ${tags.map((t) => JSON.stringify(t)).join(" or ")}`);
  }
  const chosen = variants[tags.indexOf(present[0])];
  const error = firstError(chosen, value);
  if (error === undefined) throw new Error("json-schema: a union failed but its chosen variant passes");
  if (error.type === ValueErrorType.ObjectAdditionalProperties && error.path.lastIndexOf("/") === 0) {
    const key = unescapePointer(error.path.slice(1));
    const owner = variants.findIndex((v) => Object.hasOwn(v.properties ?? {}, key));
    if (owner >= 0) {
      return at(
        error.path,
        template(schema, "exclusive", 'only applies with "{variant}"', { variant: tags[owner] }),
      );
    }
    return at(error.path, unknownKey([...new Set(variants.flatMap(propertyNames))]));
  }
  return violationOf(error, root, pointer);
}

function reasonOf(error: ValueError): string {
  const { schema, value } = error;
  const json = JSON.stringify(value);
  switch (error.type) {
    case ValueErrorType.Object:
      return `expected an object, got ${json}`;
    case ValueErrorType.Array:
      return `expected an array, got ${typeof value}`;
    case ValueErrorType.ArrayMinItems:
    case ValueErrorType.ArrayMaxItems: {
      const min = error.type === ValueErrorType.ArrayMinItems;
      const vars = {
        count: String((value as unknown[]).length),
        limit: String(min ? schema.minItems : schema.maxItems),
        value: json,
      };
      return min
        ? template(schema, "minItems", "expected at least {limit} entries, got {count}", vars)
        : template(schema, "maxItems", "expected at most {limit} entries, got {count}", vars);
    }
    case ValueErrorType.String:
      return `expected a string, got ${json}`;
    case ValueErrorType.StringMinLength:
      return template(
        schema,
        "minLength",
        schema.minLength === 1
          ? "expected a non-empty string"
          : "expected at least {limit} characters, got {value}",
        { limit: String(schema.minLength), value: json },
      );
    case ValueErrorType.StringMaxLength:
      return template(schema, "maxLength", "expected at most {limit} characters, got {value}", {
        limit: String(schema.maxLength),
        value: json,
      });
    case ValueErrorType.StringPattern:
      return template(schema, "pattern", "expected text matching /{limit}/, got {value}", {
        limit: String(schema.pattern),
        value: json,
      });
    case ValueErrorType.StringFormat:
      return template(schema, "format", "expected a {limit}, got {value}", {
        limit: String(schema.format),
        value: json,
      });
    case ValueErrorType.Integer:
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.IntegerExclusiveMinimum:
    case ValueErrorType.IntegerExclusiveMaximum:
    case ValueErrorType.Number:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.NumberExclusiveMinimum:
    case ValueErrorType.NumberExclusiveMaximum:
      return numberReason(schema, value);
    default:
      return error.message;
  }
}

/** `expected an integer in [1, 64], got 0`; `(` and `)` mark exclusive bounds. */
function numberReason(schema: TSchema, value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    return `expected a finite number, got ${JSON.stringify(value)}`;
  }
  const what = schema.type === "integer" ? "an integer" : "a number";
  const low = schema.exclusiveMinimum ?? schema.minimum;
  const high = schema.exclusiveMaximum ?? schema.maximum;
  if (low === undefined && high === undefined) return `expected ${what}, got ${value}`;
  const open = schema.exclusiveMinimum === undefined ? "[" : "(";
  const close = schema.exclusiveMaximum === undefined ? "]" : ")";
  return `expected ${what} in ${open}${low ?? "-inf"}, ${high ?? "inf"}${close}, got ${value}`;
}

/** The schema's `errorMessage[keyword]` template, or `fallback`, with `{name}` replaced from `vars`. */
function template(schema: TSchema, keyword: string, fallback: string, vars: Vars): string {
  const templates = (schema.errorMessage ?? {}) as Record<string, string>;
  return (templates[keyword] ?? fallback).replace(/\{(\w+)\}/g, (whole, name: string) => vars[name] ?? whole);
}

function unknownKey(allowed: string[]): string {
  return `unknown key (expected one of ${allowed.join(", ")})`;
}

/** An object schema's property names in order, without `$`-keys (`$schema` is metadata, not a setting). */
function propertyNames(schema: TSchema): string[] {
  return Object.keys(schema.properties ?? {}).filter((key) => !key.startsWith("$"));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** A JSON pointer into `root` as a field path: `/markets/0/id` is `markets[0].id`, `` is `(root)`. */
function fieldName(root: unknown, pointer: string): string {
  if (pointer === "") return "(root)";
  let field = "";
  let node: unknown = root;
  for (const segment of pointer.slice(1).split("/").map(unescapePointer)) {
    if (Array.isArray(node)) {
      field += `[${segment}]`;
      node = node[Number(segment)];
    } else {
      field += field === "" ? segment : `.${segment}`;
      node = isPlainObject(node) ? node[segment] : undefined;
    }
  }
  return field;
}
