/**
 * `zkrisk ceremony contribute`: one more phase-2 contribution to an artifact directory's zkey (and a beacon if
 * asked), then the verification key, the verifier and the manifest re-exported.
 */
import { runContribute as addContribution, type RunContributeResult } from "../../setup";
import { output } from "../options";
import { stderrLog } from "../../setup/log";

/** The options of `zkrisk ceremony contribute`, as commander gives them (cli/register/circuit.ts). */
export interface ContributeFlags {
  artifacts: string;
  name: string;
  entropy?: string;
  ptau?: string;
  model?: string;
  beacon?: string;
  json?: boolean;
}

/** The contribution added. */
export interface ContributeResult {
  /** `--name`: the contributor. */
  name: string;
  /** Absolute path of the zkey contributed to. */
  zkey: string;
  /** Absolute artifact directory. */
  dir: string;
  contribution: RunContributeResult["contribution"];
  /** The beacon applied (`--beacon`), or null. */
  beacon: NonNullable<RunContributeResult["beacon"]> | null;
}

/** Add the contribution (the setup log on stderr). */
export async function runContribute(f: ContributeFlags): Promise<ContributeResult> {
  const result = await addContribution(
    {
      dir: f.artifacts,
      name: f.name,
      entropy: f.entropy,
      ptau: f.ptau,
      model: f.model,
      beaconHash: f.beacon,
    },
    stderrLog(Boolean(f.json)),
  );
  return {
    name: f.name,
    zkey: result.paths.zkey,
    dir: result.dir,
    contribution: result.contribution,
    beacon: result.beacon ?? null,
  };
}

/** The `--json` document of `zkrisk ceremony contribute`. */
export function contributeJson(r: ContributeResult): unknown {
  return { dir: r.dir, contribution: r.contribution, beacon: r.beacon };
}

/** The text output of `zkrisk ceremony contribute`. */
export function formatContribute(r: ContributeResult): string {
  return (
    `contribution by "${r.name}" added to ${r.zkey}\n  hash ${r.contribution.hash}\n` +
    `verification key and verifier re-exported; artifacts.json updated\n`
  );
}

/** `zkrisk ceremony contribute`: contribute, then print the contribution's hash. */
export async function contributeAction(f: ContributeFlags): Promise<void> {
  output(await runContribute(f), f.json, formatContribute, contributeJson);
}
