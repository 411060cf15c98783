/**
 * Solidity compilation with solc-js (the `solc` npm package: offline, the same compiler Hardhat uses here).
 * The oracle, the example consumer and each freshly generated Groth16 verifier are compiled from source with
 * one set of settings (SOLC_SETTINGS, which hardhat.config.ts also uses), and cached by content hash.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { PACKAGE_ROOT, cacheDir } from "../core/package-root";
import { UsageError, ZkriskError } from "../core/errors";
import { writeFileAtomic } from "../core/atomic-file";
import { readJsonFile, writeJsonAtomic } from "../core/io";

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

/**
 * solc-js, a development dependency: an installed zkrisk reads the oracle's shipped ABI and bytecode, and needs it
 * only to compile a generated verifier.
 * @throws UsageError saying how to install it, when it is missing
 */
function solc(): { compile(input: string, callbacks?: object): string; version(): string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("solc");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
    const range = (readJsonFile(join(ROOT, "package.json")) as { devDependencies: Record<string, string> })
      .devDependencies.solc;
    throw new UsageError(
      `compiling Solidity (a generated verifier, to deploy it) needs solc-js, a development dependency of zkrisk: ` +
        `install it with \`npm install solc@${range}\``,
    );
  }
}

/**
 * Refuse early, before any work, when solc-js is missing (`solc`'s UsageError): for a command that will compile a
 * generated verifier.
 */
export function requireSolc(): void {
  solc();
}

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
  // The key covers the named sources; what they import is recorded with each entry and checked on reuse, so an
  // edited interface or library file is never served a stale build.
  const cached = join(CACHE_DIR, `${key}.json`);
  if (existsSync(cached)) {
    const entry = readJsonFile(cached) as Partial<CachedBuild>;
    if (entry.imports !== undefined && entry.contracts !== undefined && importsUnchanged(entry.imports))
      return entry.contracts;
  }
  const imports: Record<string, string> = {};
  const output = JSON.parse(
    solc().compile(JSON.stringify(input), {
      import: (p: string) => {
        // Imports relative to an absolute source (a generated verifier outside the tree) resolve beside it.
        const beside = files.map((f) => join(dirname(resolve(ROOT, f)), p)).find((c) => existsSync(c));
        const found = beside ? { contents: readFileSync(beside, "utf8") } : findImport(p);
        if ("contents" in found) imports[beside ?? p] = sha256Text(found.contents);
        return found;
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
  writeJsonAtomic(cached, { imports, contracts: out } satisfies CachedBuild);
  return out;
}

/** A cached build: the contracts, and the sha256 of every file the compiler imported (by its import path). */
interface CachedBuild {
  imports: Record<string, string>;
  contracts: Record<string, CompiledContract>;
}

function sha256Text(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Every recorded import still resolves to the same content. */
function importsUnchanged(imports: Record<string, string>): boolean {
  return Object.entries(imports).every(([p, sha]) => {
    const found = isAbsolute(p)
      ? existsSync(p)
        ? { contents: readFileSync(p, "utf8") }
        : { error: p }
      : findImport(p);
    return "contents" in found && sha256Text(found.contents) === sha;
  });
}

/** The oracle and the example consumer. */
export function compileOracleContracts(): {
  RiskOracle: CompiledContract;
  PerpMarginCheck: CompiledContract;
} {
  const out = compileSolidity(["contracts/RiskOracle.sol", "contracts/example/PerpMarginCheck.sol"]);
  return { RiskOracle: out.RiskOracle, PerpMarginCheck: out.PerpMarginCheck };
}

/**
 * Compile a generated source held in memory (written first under .zkrisk-cache/solc/generated by its sha256,
 * so solc sees a file; imports resolve from the project root) and return its contract `name`.
 */
export function compileGeneratedSource(source: string, name: string): CompiledContract {
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 32);
  const file = join(CACHE_DIR, "generated", `${name}-${hash}.sol`);
  if (!existsSync(file)) writeFileAtomic(file, source);
  const out = compileSolidity([file]);
  if (!out[name]) throw new SolidityError(`generated source ${file}: no contract ${name}`);
  return out[name];
}

/** A snarkjs-generated verifier (`Groth16Verifier.sol` of an artifact directory). */
export function compileVerifier(solPath: string): CompiledContract {
  const out = compileSolidity([resolve(solPath)]);
  if (!out.Groth16Verifier) throw new SolidityError(`${solPath}: no contract Groth16Verifier`);
  return out.Groth16Verifier;
}
