/**
 * JSON text as the project reads what a user or a publisher supplies (config, model and signed files, publishers'
 * answers): parsed by JSON.parse, its errors placed at a line and column, and a key held twice in one object
 * refused (JSON.parse keeps the last one, so a setting written twice would silently take the value written last).
 */
import { ZkriskError } from "./errors";
import { quoted } from "./http-body";
import { PREVIEW_CHARS } from "./validate";

/**
 * A JSON text that does not parse, or holds a key twice in one object. The message reads `place: reason`, on one
 * line: `file:line:column: reason`, or for a URL `url: line L, column C: reason` (after a URL, `:3:5` would read
 * as part of it: a port, a query's value, which redactUrlsIn masks); `source: reason` when the place is not known.
 */
export class JsonTextError extends ZkriskError {
  /** The file and the line and column of the fault, as the message starts: `bad.json:3:5`. */
  readonly place: string;

  constructor(
    code: string,
    /** The file or URL the text came from. */
    readonly source: string,
    /** 1-based line of the fault, undefined when not known. */
    readonly line: number | undefined,
    /** 1-based column of the fault (UTF-16 code units, a tab counting one), undefined when not known. */
    readonly column: number | undefined,
    /** `not valid JSON: ...` or `duplicate key 'k' (first at line L)`. */
    readonly reason: string,
  ) {
    const place =
      line === undefined
        ? source
        : /^[a-z][a-z0-9+.-]*:\/\//i.test(source)
          ? `${source}: line ${line}, column ${column}`
          : `${source}:${line}:${column}`;
    super(code, `${place}: ${reason}`);
    this.place = place;
  }
}

/**
 * The value of a JSON text a user or a publisher supplied.
 * @param text the whole text (a byte order mark is not skipped: it is refused, as JSON.parse does).
 * @param source the file or URL it came from, for the message.
 * @param code the error's code (the family of the document: `CONFIG_INVALID` for a config...).
 * @throws JsonTextError `source:line:column: not valid JSON: <JSON.parse's message without its position>`, or
 *   `source:line:column: duplicate key 'k' (first at line L)` at the second occurrence of a key in one object,
 *   at any depth; keys are compared as decoded (`"a"` and `"\u0061"` are the same key). For a URL, the place
 *   reads `url: line L, column C` (see JsonTextError).
 */
export function parseJsonText(text: string, source: string, code = "FILE_INVALID"): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw syntaxError(text, source, code, err.message);
  }
  // JSON.parse read it, so the only fault left to find is a duplicate key (the grammar check of the scan agrees
  // with JSON.parse: test/core/json-text.test.ts compares them)
  const fault = findJsonFault(text);
  if (fault?.kind === "duplicate") {
    const { line, column } = lineColumn(text, fault.at);
    const first = lineColumn(text, fault.firstAt).line;
    const reason = `duplicate key '${quoted(fault.key, PREVIEW_CHARS)}' (first at line ${first})`;
    throw new JsonTextError(code, source, line, column, reason);
  }
  return value;
}

/** The first fault of a JSON text; offsets are UTF-16 code units from the start of the text. */
export type JsonFault =
  /** The text breaks the JSON grammar at `at` (the character that cannot come there, or the text's length). */
  | { kind: "syntax"; at: number }
  /** An object holds `key` (decoded) twice: its first occurrence's opening quote is at `firstAt`, the second's at `at`. */
  | { kind: "duplicate"; key: string; at: number; firstAt: number };

/**
 * The first fault of a JSON text (RFC 8259) in text order: where it breaks the grammar, or the second occurrence of
 * a key in one object; undefined for a valid text whose objects each hold a key once. Linear time, without
 * recursion (a text nested 200,000 deep costs a stack of 200,000 entries, not a call stack).
 * @param duplicates false: only where the text breaks the grammar (a key held twice before it is not a fault).
 */
export function findJsonFault(text: string, duplicates = true): JsonFault | undefined {
  try {
    scan(text, duplicates ? new OpenKeys() : undefined);
    return undefined;
  } catch (err) {
    if (err instanceof Fault) return err.fault;
    throw err;
  }
}

/**
 * The 1-based line and column of `offset` in `text`. A line ends at a CR LF, an LF or a lone CR; the column counts
 * UTF-16 code units (a tab counts one). `offset` may be the text's length (the place after the last character).
 */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** JSON.parse's message (Node 20) as the reason of a JsonTextError, placed at a line and column when known. */
function syntaxError(text: string, source: string, code: string, message: string): JsonTextError {
  // "Expected ',' or '}' after property value in JSON at position 13", "Unexpected non-whitespace character after
  // JSON at position 9"
  const positioned = /(?: in JSON)? at position (\d+)$/.exec(message);
  let what = message;
  let at: number | undefined;
  if (positioned !== null) {
    what = message.slice(0, positioned.index);
    at = Number(positioned[1]);
  } else if (message === "Unexpected end of JSON input") {
    at = text.length;
  } else {
    // "Unexpected token ']', "[1,2,]" is not valid JSON" (a bad character where a value or a literal's next letter
    // should be) and "\"undefined\" is not valid JSON" give no position: the scan finds it
    const fault = findJsonFault(text, false);
    if (fault !== undefined) {
      at = fault.at;
      // the excerpt of the text after the token says nothing the line and column do not, and may span lines
      if (message.startsWith("Unexpected token '") && at < text.length)
        what = `Unexpected token ${token(text, at)}`;
    }
  }
  if (at === undefined)
    return new JsonTextError(code, source, undefined, undefined, `not valid JSON: ${quoted(what)}`);
  const { line, column } = lineColumn(text, at);
  return new JsonTextError(code, source, line, column, `not valid JSON: ${what}`);
}

/**
 * The character at `at`, quoted (`']'`), or as `U+FEFF` when it would not show on its own (a control or format
 * character, a byte order mark among them, a space, a line break, a combining mark).
 */
function token(text: string, at: number): string {
  const point = text.codePointAt(at) as number;
  const char = String.fromCodePoint(point);
  if (!/[\p{C}\p{M}\p{Z}]/u.test(char)) return `'${char}'`;
  return `U+${point.toString(16).toUpperCase().padStart(4, "0")}`;
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** The letters that may follow a backslash in a string, besides `u`: `" \ / b f n r t`. */
const SIMPLE_ESCAPES = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));

/** A fault found by the scan, thrown from wherever it is found to `findJsonFault`. */
class Fault {
  constructor(readonly fault: JsonFault) {}
}

function syntaxAt(at: number): Fault {
  return new Fault({ kind: "syntax", at });
}

/** An open array in the scan's stack (an open object is there as its `OpenKeys` handle, 0 or more). */
const ARRAY = -1;

/**
 * Walks `text` through the JSON grammar, iteratively: a stack holds, per open container, `ARRAY` or the object's
 * handle in `keys` (0 when keys are not checked: `keys` undefined).
 * @throws Fault at the first fault.
 */
function scan(text: string, keys: OpenKeys | undefined): void {
  const stack: number[] = [];
  let i = skipSpace(text, 0);
  for (;;) {
    // a value starts at i
    const c = text.charCodeAt(i);
    let end: number;
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const inner = skipSpace(text, i + 1);
      if (text.charCodeAt(inner) === (c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET)) {
        end = inner + 1;
      } else if (c === OPEN_BRACE) {
        const object = keys?.open() ?? 0;
        stack.push(object);
        i = member(text, inner, keys, object);
        continue;
      } else {
        stack.push(ARRAY);
        i = inner;
        continue;
      }
    } else if (c === QUOTE) {
      end = stringEnd(text, i);
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      end = numberEnd(text, i);
    } else if (c === 0x74 /* t */) {
      end = literalEnd(text, i, "true");
    } else if (c === 0x66 /* f */) {
      end = literalEnd(text, i, "false");
    } else if (c === 0x6e /* n */) {
      end = literalEnd(text, i, "null");
    } else {
      throw syntaxAt(i);
    }
    // after a value: the containers it closes, then a comma and the next value or member, or the end of the text
    i = skipSpace(text, end);
    for (;;) {
      if (stack.length === 0) {
        if (i !== text.length) throw syntaxAt(i);
        return;
      }
      const open = stack[stack.length - 1];
      const next = text.charCodeAt(i);
      if (next === COMMA) {
        i = skipSpace(text, i + 1);
        if (open !== ARRAY) i = member(text, i, keys, open);
        break;
      }
      if (next !== (open === ARRAY ? CLOSE_BRACKET : CLOSE_BRACE)) throw syntaxAt(i);
      if (open !== ARRAY) keys?.close(open);
      stack.pop();
      i = skipSpace(text, i + 1);
    }
  }
}

/**
 * Reads an object member's `"key" :` at `i`, recording the key in the open object `object` of `keys`, if any.
 * @returns the offset of its value (spaces skipped).
 * @throws Fault for a key the object already holds, or a syntax fault.
 */
function member(text: string, i: number, keys: OpenKeys | undefined, object: number): number {
  if (text.charCodeAt(i) !== QUOTE) throw syntaxAt(i);
  const end = stringEnd(text, i);
  if (keys !== undefined) {
    const raw = text.slice(i + 1, end - 1);
    // a valid string with an escape is decoded by JSON.parse, so that keys compare as the parsed object's do
    keys.add(object, raw.includes("\\") ? (JSON.parse(text.slice(i, end)) as string) : raw, i);
  }
  const colon = skipSpace(text, end);
  if (text.charCodeAt(colon) !== COLON) throw syntaxAt(colon);
  return skipSpace(text, colon + 1);
}

/** The most keys of an object found by a linear search; a larger object gets a Map (`OpenKeys`). */
const SMALL_OBJECT = 16;

/**
 * The keys of the objects open at a point of the scan, outermost first, each with the offset of its opening
 * quote. An object's keys follow those of the objects around it: an object is known by the index of its first key
 * (its handle), and closing it drops its keys. A key is looked for among its object's by a linear search while the
 * object holds at most SMALL_OBJECT keys (most objects: no Map to build), in a Map of them after that (no
 * quadratic time for an object of many keys).
 */
class OpenKeys {
  private readonly names: string[] = [];
  private readonly offsets: number[] = [];
  /** The Map of each open object that holds more than SMALL_OBJECT keys, by handle. */
  private readonly large = new Map<number, Map<string, number>>();

  /** Opens an object. @returns its handle. */
  open(): number {
    return this.names.length;
  }

  /** Records `key` (decoded), whose opening quote is at `at`, in `object`. @throws Fault if it holds it already. */
  add(object: number, key: string, at: number): void {
    const { names, offsets } = this;
    let firstAt: number | undefined;
    if (names.length - object <= SMALL_OBJECT) {
      for (let k = object; k < names.length; k++) {
        if (names[k] === key) {
          firstAt = offsets[k];
          break;
        }
      }
    } else {
      let map = this.large.get(object);
      if (map === undefined) {
        map = new Map();
        for (let k = object; k < names.length; k++) map.set(names[k], offsets[k]);
        this.large.set(object, map);
      }
      firstAt = map.get(key);
      if (firstAt === undefined) map.set(key, at);
    }
    if (firstAt !== undefined) throw new Fault({ kind: "duplicate", key, at, firstAt });
    names.push(key);
    offsets.push(at);
  }

  /** Closes `object`, the innermost open one. */
  close(object: number): void {
    this.names.length = object;
    this.offsets.length = object;
    this.large.delete(object);
  }
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return i;
    i++;
  }
}

/**
 * A valid string, from its opening quote to its closing one: characters other than a quote, a backslash or a
 * control character, and escapes. Sticky: it matches at `lastIndex` only.
 */
// eslint-disable-next-line no-control-regex -- the control characters a JSON string may not hold raw
const VALID_STRING = /"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"/y;

/** The offset after the string whose opening quote is at `i`. @throws Fault */
function stringEnd(text: string, i: number): number {
  // the regular expression runs compiled, several times faster than the loop, which only finds a fault
  VALID_STRING.lastIndex = i;
  if (VALID_STRING.test(text)) return VALID_STRING.lastIndex;
  let j = i + 1;
  for (;;) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) return j + 1;
    if (c === BACKSLASH) {
      const escaped = text.charCodeAt(j + 1);
      if (escaped === 0x75 /* u */) {
        for (let h = j + 2; h < j + 6; h++) if (!isHexDigit(text.charCodeAt(h))) throw syntaxAt(h);
        j += 6;
      } else if (SIMPLE_ESCAPES.has(escaped)) {
        j += 2;
      } else {
        throw syntaxAt(j + 1);
      }
    } else if (c < SPACE || Number.isNaN(c)) {
      // a control character, or the end of the text (charCodeAt past it is NaN)
      throw syntaxAt(j);
    } else {
      j++;
    }
  }
}

/** The offset after the number starting at `i` (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`). @throws Fault */
function numberEnd(text: string, i: number): number {
  let j = text.charCodeAt(i) === MINUS ? i + 1 : i;
  const first = text.charCodeAt(j);
  if (first === ZERO) j++;
  else if (first > ZERO && first <= NINE) j = digitsEnd(text, j + 1);
  else throw syntaxAt(j);
  if (text.charCodeAt(j) === DOT) {
    const fraction = digitsEnd(text, j + 1);
    if (fraction === j + 1) throw syntaxAt(fraction);
    j = fraction;
  }
  const e = text.charCodeAt(j);
  if (e === 0x65 /* e */ || e === 0x45 /* E */) {
    j++;
    const sign = text.charCodeAt(j);
    if (sign === PLUS || sign === MINUS) j++;
    const exponent = digitsEnd(text, j);
    if (exponent === j) throw syntaxAt(j);
    j = exponent;
  }
  return j;
}

function digitsEnd(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE || Number.isNaN(c)) return i;
    i++;
  }
}

/** The offset after `word` (`true`, `false`, `null`) at `i`. @throws Fault at its first letter that differs. */
function literalEnd(text: string, i: number, word: string): number {
  for (let k = 0; k < word.length; k++)
    if (text.charCodeAt(i + k) !== word.charCodeAt(k)) throw syntaxAt(i + k);
  return i + word.length;
}

function isHexDigit(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
