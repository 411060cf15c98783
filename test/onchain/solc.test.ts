/**
 * The solc-js build cache (onchain/solc.ts): a build is reused only while every file it imported is unchanged, so
 * an edited interface never serves a stale build (its bytecode's metadata hash covers the imported sources).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSolidity } from "../../onchain/solc";

const dir = mkdtempSync(join(tmpdir(), "zkrisk-solc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function library(comment: string, value: number): void {
  writeFileSync(
    join(dir, "Lib.sol"),
    `// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\n// ${comment}\n` +
      `library Lib { function value() internal pure returns (uint256) { return ${value}; } }\n`,
  );
}

describe("compileSolidity's cache", () => {
  const main = join(dir, "Main.sol");
  writeFileSync(
    main,
    `// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\nimport "Lib.sol";\n` +
      `contract Main { function get() external pure returns (uint256) { return Lib.value(); } }\n`,
  );

  it("rebuilds when an imported file changes, and reuses the build while nothing does", () => {
    library("first", 1);
    const first = compileSolidity([main]).Main.bytecode;
    expect(compileSolidity([main]).Main.bytecode).toBe(first);
    library("second", 1); // a comment only: the code is the same, the metadata hash is not
    const second = compileSolidity([main]).Main.bytecode;
    expect(second).not.toBe(first);
    library("second", 2);
    expect(compileSolidity([main]).Main.bytecode).not.toBe(second);
  }, 120_000);
});
