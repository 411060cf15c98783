/**
 * The oracle's and the example consumer's ABI and bytecode, shipped as files (`contracts/abi/*.json`), so
 * that reading events, decoding errors and deploying the oracle need no Solidity compiler at run time: an
 * installed zkrisk does not have one (solc is a development dependency).
 *
 * Each file records the sha256 of the Solidity sources it was built from (`sourceHash`, over every `.sol` file
 * under `contracts/`). Where those sources are present and differ (a developer edited a contract), the
 * contracts are compiled from them instead, as before; `npm run contracts` rewrites the files, and a test
 * checks that the shipped files are what the sources compile to.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { writeJsonAtomic } from "../core/io";
import { ZkriskError } from "../core/errors";
import { PACKAGE_ROOT, packagePath } from "../core/package-root";
import type { CompiledContract } from "./solc";

/** The contracts shipped as build files. */
export const SHIPPED_CONTRACTS = ["RiskOracle", "PerpMarginCheck"] as const;
export type ShippedContract = (typeof SHIPPED_CONTRACTS)[number];

/** Where the build files are. */
export const CONTRACT_BUILD_DIR = packagePath("contracts/abi");

/** The format tag of a build file. */
const FORMAT = "zkrisk-contract/1";

/** One build file. */
export interface ContractFile extends CompiledContract {
  format: typeof FORMAT;
  contractName: ShippedContract;
  /** sha256 of the Solidity sources (see {@link contractSourceHash}), hex. */
  sourceHash: string;
}

/** Every project Solidity file, relative to the package root, sorted. */
function solidityFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return solidityFiles(path);
      return entry.name.endsWith(".sol") ? [relative(PACKAGE_ROOT, path)] : [];
    })
    .sort();
}

/**
 * sha256 over the Solidity sources under `contracts/` (each file's path, a zero byte, its bytes, a zero byte),
 * or undefined where the package ships no `RiskOracle.sol` (nothing to compare with).
 */
export function contractSourceHash(): string | undefined {
  const contracts = packagePath("contracts");
  if (!existsSync(join(contracts, "RiskOracle.sol"))) return undefined;
  const hash = createHash("sha256");
  for (const file of solidityFiles(contracts)) {
    hash
      .update(file)
      .update("\0")
      .update(readFileSync(packagePath(file)))
      .update("\0");
  }
  return hash.digest("hex");
}

function buildFile(name: ShippedContract): string {
  return join(CONTRACT_BUILD_DIR, `${name}.json`);
}

/** Read a build file, checking its shape. */
export function readContractFile(name: ShippedContract): ContractFile {
  const file = buildFile(name);
  let parsed: Partial<ContractFile>;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<ContractFile>;
  } catch (err) {
    throw new ZkriskError(
      "FILE_INVALID",
      `${file}: cannot read the contract build: ${(err as Error).message}`,
    );
  }
  if (
    parsed.format !== FORMAT ||
    parsed.contractName !== name ||
    !Array.isArray(parsed.abi) ||
    typeof parsed.bytecode !== "string" ||
    !/^0x[0-9a-f]+$/.test(parsed.bytecode) ||
    typeof parsed.sourceHash !== "string"
  ) {
    throw new ZkriskError("FILE_INVALID", `${file}: not a ${FORMAT} build of ${name}`);
  }
  return parsed as ContractFile;
}

let compiled: Record<ShippedContract, CompiledContract> | undefined;

/**
 * The ABI and bytecode of a shipped contract: the build file, or, where the package's Solidity sources differ
 * from what it was built from, a compilation of those sources (solc-js, cached).
 */
export function shippedContract(name: ShippedContract): CompiledContract {
  const shipped = readContractFile(name);
  const sources = contractSourceHash();
  if (sources === undefined || sources === shipped.sourceHash) return shipped;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { compileOracleContracts } = require("./solc") as typeof import("./solc");
  compiled ??= compileOracleContracts();
  return compiled[name];
}

/** Compile the sources and write every build file (`npm run contracts`). Returns the files written. */
export function writeContractFiles(): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { compileOracleContracts } = require("./solc") as typeof import("./solc");
  const sourceHash = contractSourceHash();
  if (sourceHash === undefined)
    throw new ZkriskError("USAGE", `${packagePath("contracts")}: no Solidity sources`);
  const contracts = compileOracleContracts();
  return SHIPPED_CONTRACTS.map((name) => {
    const file = buildFile(name);
    const content: ContractFile = { format: FORMAT, contractName: name, sourceHash, ...contracts[name] };
    writeJsonAtomic(file, content);
    return file;
  });
}
