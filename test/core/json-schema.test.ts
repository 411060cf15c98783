/**
 * core/json-schema.ts on a small schema: the first violation's field path and reason for every kind of error,
 * unknown keys before missing ones, unions of objects chosen by their first keys, `errorMessage` templates, and
 * the JSON Schema file without them. core/redact.ts: a deny-list by path.
 */
import { Type } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { compileSchemaCheck, JSON_SCHEMA_DRAFT, jsonSchemaFile } from "../../core/json-schema";
import { redactFields } from "../../core/redact";

const closed = { additionalProperties: false } as const;
const Schema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    size: Type.Optional(Type.Integer({ minimum: 1, maximum: 9 })),
    ratio: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    tags: Type.Optional(
      Type.Array(
        Type.String({ pattern: "^[a-z]+$", errorMessage: { pattern: "expected a tag, got {value}" } }),
        {
          maxItems: 2,
          errorMessage: { maxItems: "{count} tags, at most {limit}" },
        },
      ),
    ),
    link: Type.Optional(Type.String({ format: "uri" })),
    source: Type.Optional(
      Type.Union(
        [
          Type.Object({ file: Type.String() }, closed),
          Type.Object({ url: Type.String(), token: Type.String() }, closed),
        ],
        { errorMessage: { exclusive: 'only for a "{variant}" source' } },
      ),
    ),
  },
  closed,
);
const check = compileSchemaCheck(Schema);

describe("compileSchemaCheck", () => {
  it("passes a valid document", () => {
    expect(
      check({ name: "a", size: 9, ratio: 1, tags: ["x"], link: "https://x/", source: { file: "f" } }),
    ).toBe(undefined);
  });

  it("names the field and the bad value", () => {
    const cases: [unknown, string, string][] = [
      [[], "(root)", "expected an object, got []"],
      [{}, "name", "missing"],
      [{ name: "" }, "name", "expected a non-empty string"],
      [{ name: 3 }, "name", "expected a string, got 3"],
      [{ name: "a", size: "2" }, "size", 'expected a finite number, got "2"'],
      [{ name: "a", size: 1.5 }, "size", "expected an integer in [1, 9], got 1.5"],
      [{ name: "a", size: 10 }, "size", "expected an integer in [1, 9], got 10"],
      [{ name: "a", ratio: 0 }, "ratio", "expected a number in (0, 1], got 0"],
      [{ name: "a", tags: "x" }, "tags", "expected an array, got string"],
      [{ name: "a", tags: ["x", "Y"] }, "tags[1]", 'expected a tag, got "Y"'],
      [{ name: "a", tags: ["x", "y", "z"] }, "tags", "3 tags, at most 2"],
      [{ name: "a", link: "not a url" }, "link", 'expected a uri, got "not a url"'],
      [{ name: "a", nam: "b" }, "nam", "unknown key (expected one of name, size, ratio, tags, link, source)"],
    ];
    for (const [doc, field, reason] of cases)
      expect(check(doc), JSON.stringify(doc)).toEqual({ field, reason });
  });

  it("names a misspelt required key as unknown, not as missing", () => {
    expect(check({ nmae: "a" })).toEqual({
      field: "nmae",
      reason: "unknown key (expected one of name, size, ratio, tags, link, source)",
    });
  });

  it("reads a union of objects as a choice by each variant's first key", () => {
    const source = (value: unknown) => check({ name: "a", source: value });
    expect(source(1)).toEqual({ field: "source", reason: "expected an object, got 1" });
    expect(source({})).toEqual({ field: "source", reason: 'expected exactly one of "file" or "url"' });
    expect(source({ file: "f", url: "u" })).toEqual({
      field: "source",
      reason: 'expected exactly one of "file" or "url"',
    });
    expect(source({ url: "u" })).toEqual({ field: "source.token", reason: "missing" });
    expect(source({ file: "f", token: "t" })).toEqual({
      field: "source.token",
      reason: 'only for a "url" source',
    });
    expect(source({ file: "f", other: 1 })).toEqual({
      field: "source.other",
      reason: "unknown key (expected one of file, url, token)",
    });
    expect(source({ file: 2 })).toEqual({ field: "source.file", reason: "expected a string, got 2" });
  });
});

describe("jsonSchemaFile", () => {
  it("declares draft-07 and leaves the message templates out", () => {
    const file = jsonSchemaFile(Schema, { title: "T" });
    expect(Object.keys(file).slice(0, 2)).toEqual(["$schema", "title"]);
    expect(file.$schema).toBe(JSON_SCHEMA_DRAFT);
    const text = JSON.stringify(file);
    expect(text).not.toContain("errorMessage");
    expect(text).toContain('"pattern":"^[a-z]+$"');
  });
});

describe("redactFields", () => {
  it("redacts the listed paths only, and turns bigints into strings", () => {
    const doc = {
      url: "https://u:p@h.example/?k=v",
      list: [{ hash: "0123456789abcdef", keep: "x" }, { keep: "y" }],
      secret: "s3cret",
      n: 5n,
    };
    expect(redactFields(doc, { url: "url", "list[].hash": "hash", secret: "hidden" })).toEqual({
      url: "https://***:***@h.example/?k=***",
      list: [{ hash: "01234567...", keep: "x" }, { keep: "y" }],
      secret: "***",
      n: "5",
    });
  });
});
