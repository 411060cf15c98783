/**
 * `zkrisk deploy` refuses artifacts whose manifest's model file is missing with a message that fits deploy (it has
 * no --model): the missing path, and to restore it or run setup again. Artifacts of a one-constraint circuit
 * (cached, built once); nothing reaches a chain.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { sourceArtifacts } from "../helpers/source-artifacts";
import { ZKRISK_BIN } from "../helpers/zkrisk-cli";

/** The smallest circuit with a public output: y = x * x. */
const SOURCE = `pragma circom 2.1.0;
template Square() {
    signal input x;
    signal output y;
    y <== x * x;
}
component main = Square();
`;

let artifacts: string;
beforeAll(async () => {
  const built = await sourceArtifacts(SOURCE, "square", "deploy-cli-square");
  artifacts = join(mkdtempSync(join(tmpdir(), "zkrisk-deploy-cli-")), "artifacts");
  cpSync(built, artifacts, { recursive: true });
  rmSync(join(artifacts, "square.circom")); // the file the manifest records as the model
}, 120_000);

describe("zkrisk deploy --artifacts with the manifest's model file missing", () => {
  it("exits 2 naming the missing file and what to do, not an option deploy does not have", () => {
    const r = spawnSync(
      process.execPath,
      [
        ZKRISK_BIN,
        "deploy",
        "--artifacts",
        artifacts,
        "--rpc",
        "http://127.0.0.1:9",
        "--key",
        "0x" + "11".repeat(32),
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      `zkrisk: ${join(artifacts, "square.circom")}: model file listed in ${join(artifacts, "artifacts.json")} is ` +
        "missing (restore it there, or run `zkrisk setup` again for these artifacts)\n",
    );
    expect(r.stderr).not.toContain("--model");
    expect(r.stderr).not.toContain("explicitly");
  });
});
