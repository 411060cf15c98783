/**
 * Solidity compilation with solc-js (the `solc` npm package: offline, the same compiler Hardhat uses here).
 * The oracle, the example consumer and each freshly generated Groth16 verifier are compiled from source with
 * one set of settings (SOLC_SETTINGS, which hardhat.config.ts also uses), and cached by content hash.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { PACKAGE_ROOT, cacheDir } from "../../core/package-root";
import { ZkriskError } from "../../models/errors";
import { readJsonFile, writeJsonAtomic } from "../../models/io";

/** Compiler settings shared with hardhat.config.ts. */
export const SOLC_SETTINGS = { optimizer: { enabled: true, runs: 200 } } as const;

/** The project root and its contract sources. */
const ROOT = PACKAGE_ROOT;
export const CONTRACTS_DIR = join(ROOT, "contracts");
/** Where OpenZeppelin is installed: the project's node_modules, or the one an installed zkrisk shares. */
const NODE_MODULES = dirname(dirname(dirname(require.resolve("@openzeppelin/contracts/package.json"))));
const CACHE_DIR = cacheDir("solc");

/** Solidity compilation failed; the message carries solc's errors. */
export class SolidityError extends ZkriskError {
  constructor(message: string) {
    super("SOLIDITY_FAILED", message);
  }
}

/** ABI and creation bytecode of one contract. */
export interface CompiledContract {
  abi: unknown[];
  bytecode: string;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const solc = (): { compile(input: string, callbacks?: object): string; version(): string } => require("solc");

/** Resolve an import: project-relative sources first, then node_modules (OpenZeppelin). */
function findImport(path: string): { contents: string } | { error: string } {
  for (const base of [ROOT, NODE_MODULES]) {
    const file = join(base, path);
    if (existsSync(file)) return { contents: readFileSync(file, "utf8") };
  }
  return { error: `not found: ${path}` };
}

/** Compile source files (paths relative to the project root or absolute) and return every contract. */
export function compileSolidity(files: readonly string[]): Record<string, CompiledContract> {
  const sources: Record<string, { content: string }> = {};
  for (const f of files) {
    const abs = resolve(ROOT, f);
    sources[abs.startsWith(ROOT + "/") ? abs.slice(ROOT.length + 1) : abs] = {
      content: readFileSync(abs, "utf8"),
    };
  }
  const input = {
    language: "Solidity",
    sources,
    settings: { ...SOLC_SETTINGS, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
  };
  const key = createHash("sha256")
    .update(solc().version())
    .update(JSON.stringify(input))
    .digest("hex")
    .slice(0, 32);
  const cached = join(CACHE_DIR, `${key}.json`);
  if (existsSync(cached)) return readJsonFile(cached) as Record<string, CompiledContract>;
  const output = JSON.parse(
    solc().compile(JSON.stringify(input), {
      import: (p: string) => {
        // Imports relative to an absolute source (a generated verifier outside the tree) resolve beside it.
        const beside = files.map((f) => join(dirname(resolve(ROOT, f)), p)).find((c) => existsSync(c));
        return beside ? { contents: readFileSync(beside, "utf8") } : findImport(p);
      },
    }),
  ) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new SolidityError(errors.map((e) => e.formattedMessage).join("\n"));
  const out: Record<string, CompiledContract> = {};
  for (const byName of Object.values(output.contracts ?? {})) {
    for (const [name, c] of Object.entries(byName))
      out[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  }
  writeJsonAtomic(cached, out);
  return out;
}

/** The oracle and the example consumer. */
export function compileOracleContracts(): {
  RiskOracle: CompiledContract;
  PerpMarginCheck: CompiledContract;
} {
  const out = compileSolidity(["contracts/RiskOracle.sol", "contracts/example/PerpMarginCheck.sol"]);
  return { RiskOracle: out.RiskOracle, PerpMarginCheck: out.PerpMarginCheck };
}

/** A snarkjs-generated verifier (`Groth16Verifier.sol` of an artifact directory). */
export function compileVerifier(solPath: string): CompiledContract {
  const out = compileSolidity([resolve(solPath)]);
  if (!out.Groth16Verifier) throw new SolidityError(`${solPath}: no contract Groth16Verifier`);
  return out.Groth16Verifier;
}
