/**
 * Every relative link of the project's Markdown (README.md, docs/, the folders' READMEs) leads somewhere: the
 * file or folder exists, and a `#section` names a heading of the Markdown file it points into, as GitHub makes
 * heading anchors. The docs were split out of one README; a link to a section that moved breaks silently.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");

/** The tracked Markdown files, from the root. */
function markdownFiles(): string[] {
  return execFileSync("git", ["ls-files", "*.md"], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter((f) => f !== "" && !f.startsWith("node_modules/"));
}

/** `text` without fenced code blocks (a `#` line there is no heading, a link no link). */
function withoutFences(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
}

/** GitHub's anchor of a heading's text: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .replace(/`/g, "")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a Markdown text's headings, a repeated one suffixed -1, -2, … as GitHub does. */
export function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const m of withoutFences(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = headingAnchor(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The relative links of a Markdown text: inline `[text](target)` ones, not URLs or mail addresses. */
export function relativeLinks(text: string): string[] {
  const links: string[] = [];
  const prose = withoutFences(text).replace(/`[^`\n]*`/g, "");
  for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    links.push(target);
  }
  return links;
}

describe("Markdown links", () => {
  it("finds links and anchors as GitHub does (so an empty list of broken ones means something)", () => {
    const text = [
      "# zkrisk: proven risk parameters",
      "## Results (shipped model, test split 2023-01-01 → 2024-06-29, 6,552 bars)",
      "## Notes",
      "## Notes",
      "### `zkrisk backtest` --series",
      "```sh",
      "# not a heading [nor](a-link.md)",
      "```",
      "See [how](docs/how-it-works.md#the-model), [web](https://example.com), `[code](x.md)` and [top](#notes-1).",
    ].join("\n");
    expect([...anchorsOf(text)]).toEqual([
      "zkrisk-proven-risk-parameters",
      "results-shipped-model-test-split-2023-01-01--2024-06-29-6552-bars",
      "notes",
      "notes-1",
      "zkrisk-backtest---series",
    ]);
    expect(relativeLinks(text)).toEqual(["docs/how-it-works.md#the-model", "#notes-1"]);
  });

  it("every relative link leads to an existing file, and to a heading of it when it names one", () => {
    const broken: string[] = [];
    const files = markdownFiles();
    expect(files).toContain("README.md");
    expect(files).toContain("docs/model-results.md");
    let checked = 0;
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const link of relativeLinks(text)) {
        checked++;
        const [path, anchor] = link.split("#", 2);
        const target = path === "" ? file : normalize(join(dirname(file), decodeURIComponent(path)));
        if (!existsSync(join(ROOT, target))) {
          broken.push(`${file}: ${link} (no ${target})`);
          continue;
        }
        if (anchor === undefined || anchor === "" || !target.endsWith(".md")) continue;
        if (!anchorsOf(readFileSync(join(ROOT, target), "utf8")).has(anchor)) {
          broken.push(`${file}: ${link} (no heading #${anchor} in ${target})`);
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(broken).toEqual([]);
  });
});
