/**
 * The `zkrisk` command line: one subcommand per stage of the data path. Only the registrations
 * (cli/register/) are loaded up front; a command's implementation is loaded when it runs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { UsageError, ZkriskError } from "../core/errors";
import { stoppingSignal } from "../core/interrupt";
import { lazyModule } from "./lazy";
import { PROJECT_ROOT } from "./paths";
import {
  registerAudit,
  registerBacktest,
  registerBench,
  registerCalibrate,
  registerBenchService,
  registerBenchSetup,
  registerChainCommands,
  registerCircuitCommands,
  registerDemo,
  registerInfer,
  registerProveCommands,
  registerPublisher,
  registerQuantize,
  registerRead,
  registerServe,
  registerTrain,
} from "./register";

/** Exit codes: 1 for a failure of the work itself, 2 for bad usage or bad input. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/**
 * `zkrisk audit`'s exit code when it could not run to a report (a node that fails mid-way): its 1 means findings,
 * so that a monitor tells a flagged update from an unreachable node.
 */
export const EXIT_AUDIT_NOT_RUN = 3;

/** Commands whose failures exit with a code of their own instead of {@link EXIT_FAILURE}. */
const FAILURE_EXIT_CODES: Readonly<Record<string, number>> = { audit: EXIT_AUDIT_NOT_RUN };

/** Error codes that mean the input (arguments, files) was bad rather than the work failing. */
const USAGE_CODES = new Set([
  "USAGE",
  "MODEL_INVALID",
  "OUT_OF_BOUNDS",
  "SETUP_INVALID",
  "SETUP_INSECURE",
  "PUBLISHER_SET_INVALID",
  "ARTIFACTS_INVALID",
  "PROOF_INVALID",
  "FILE_INVALID",
  "ORACLE_REJECTED",
  "CONFIG_INVALID",
]);

/** The error code of commander's usage errors (unknown option, missing argument...) under `--json`. */
const COMMANDER_USAGE_CODE = "USAGE";
/** The error code of an unexpected error (a bug) under `--json`. */
const INTERNAL_CODE = "INTERNAL";

const snarkjsModule = lazyModule<typeof import("../setup/snarkjs")>(join(__dirname, "../setup/snarkjs.ts"));

/** The package's version, from package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string })
    .version;
}

/**
 * The program with every command registered.
 * @param options.json errors are reported by `main` as JSON, so commander prints none of its own
 */
export function buildProgram(options: { json?: boolean } = {}): Command {
  const program = new Command("zkrisk")
    .description("proven risk parameters for DeFi derivatives: model, circuit, prover and oracle")
    .version(packageVersion(), "-V, --version", "print the version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const register of [
    registerDemo,
    registerTrain,
    registerQuantize,
    registerInfer,
    registerBacktest,
    registerCalibrate,
    registerCircuitCommands,
    registerProveCommands,
    registerChainCommands,
    registerRead,
    registerAudit,
    registerBench,
    registerBenchService,
    registerBenchSetup,
    registerServe,
    registerPublisher,
  ]) {
    register(program);
  }
  const groups = [program, ...program.commands.filter((c) => c.commands.length > 0)];
  for (const group of groups) {
    addHelpCommand(group, program);
    refuseHelpOfUnknownCommand(group);
  }
  markRequiredOptions(program);
  const override = (c: Command): void => {
    c.exitOverride();
    if (options.json) c.configureOutput({ outputError: () => undefined, writeErr: () => undefined });
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

/** What the help of a required option ends with. */
export const REQUIRED_MARK = "(required)";

/**
 * Every required option's help (a `requiredOption` of `c` or of its subcommands, at any depth) ends with
 * {@link REQUIRED_MARK}, here rather than in each registration: commander's help does not say which options are
 * required, and by hand some said it and most did not.
 */
function markRequiredOptions(c: Command): void {
  for (const o of c.options) {
    if (o.mandatory && !o.description.endsWith(REQUIRED_MARK))
      o.description = `${o.description} ${REQUIRED_MARK}`;
  }
  c.commands.forEach(markRequiredOptions);
}

/** `zkrisk` and its subcommands' names, e.g. `zkrisk publisher sign`. */
function commandPath(c: Command): string {
  const names: string[] = [];
  for (let at: Command | null = c; at !== null; at = at.parent) names.unshift(at.name());
  return names.join(" ");
}

/**
 * A command's help as one JSON document: its path, description, usage, arguments, options (flags, description,
 * default, whether required) and subcommands.
 */
export function helpJson(c: Command): unknown {
  return {
    command: commandPath(c),
    description: c.description(),
    usage: `${commandPath(c)} ${c.usage()}`,
    arguments: c.registeredArguments.map((a) => ({
      name: a.name(),
      description: a.description,
      required: a.required,
      variadic: a.variadic,
    })),
    options: c.options.map((o) => ({
      flags: o.flags,
      description: o.description,
      ...(o.defaultValue !== undefined && { default: o.defaultValue }),
      required: o.mandatory,
    })),
    commands: c.commands.map((sub) => ({ name: sub.name(), description: sub.description() })),
  };
}

/**
 * `zkrisk nosuch --help` (or `zkrisk publisher nosuch --help`): commander prints the group's help for a name it does
 * not know when --help follows, and exits 0; this refuses the name as `zkrisk nosuch` does (unknown command, exit 2).
 * The group's operands come first in its `args`, and its only options (`--help`, `--version`) take no value, so
 * its first argument that is not an option is the command asked for.
 */
function refuseHelpOfUnknownCommand(group: Command): void {
  group.on("beforeHelp", () => {
    const name = group.args.find((a) => !a.startsWith("-"));
    if (name !== undefined && !group.commands.some((c) => c.name() === name || c.aliases().includes(name))) {
      // commander's own message for `zkrisk nosuch`
      group.error(`error: unknown command '${name}'`, { code: "commander.unknownCommand" });
    }
  });
}

/**
 * `help [command...] [--json]` under `group` (the program, or a command group such as `publisher`): commander's
 * own prints the group's help for an unknown name, without saying so; this one refuses it (exit 2), and with
 * `--json` prints the help as one JSON document ({@link helpJson}).
 */
function addHelpCommand(group: Command, program: Command): void {
  group.helpCommand(false);
  group
    .command("help")
    .description(
      `display help for a command (e.g. ${group === program ? "zkrisk help publisher sign" : `zkrisk ${group.name()} help ${group.commands[0]?.name() ?? ""}`.trim()})`,
    )
    .argument("[command...]", "the command")
    .option("--json", "print the help as one JSON object")
    .action((names: string[], f: { json?: boolean }) => {
      let target: Command = group;
      for (const [i, name] of names.entries()) {
        // `help help` is the help of `help` itself
        const sub = target.commands.find((c) => c.name() === name || c.aliases().includes(name));
        if (sub === undefined) {
          throw new UsageError(
            `help: unknown command '${[...commandPath(group).split(" ").slice(1), ...names.slice(0, i + 1)].join(" ")}' ` +
              `(zkrisk ${group === program ? "" : `${group.name()} `}--help lists the commands)`,
          );
        }
        target = sub;
      }
      if (f.json) process.stdout.write(JSON.stringify(helpJson(target), null, 2) + "\n");
      else target.outputHelp();
    });
}

/**
 * The first option of `action` that takes one value and appears more than once in `argv` (before a `--`), or
 * undefined. Commander keeps the last value silently, so `--out a --out b` would write b. Options that collect
 * (variadic `<file...>`, or with a parser that appends) may repeat; so may flags without a value.
 */
export function repeatedOption(action: Command, argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  const end = args.indexOf("--");
  const given = (end === -1 ? args : args.slice(0, end)).map((a) => a.split("=")[0]);
  for (const o of action.options) {
    const single = (o.required || o.optional) && !o.variadic && o.parseArg === undefined;
    if (single && o.long !== undefined && given.filter((a) => a === o.long).length > 1) return o.long;
  }
  return undefined;
}

/** Whether the arguments ask for JSON output: `--json` among them (before a `--`). */
export function wantsJson(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).includes("--json");
}

/** A failure as it is reported: its code, its message and the exit code. */
export interface Failure {
  code: string;
  message: string;
  exitCode: number;
}

/**
 * What an error thrown by a command means for the user, or undefined for an unexpected one (a bug).
 * A ZkriskError is bad input (exit 2) or a failed job (exit 1) by its code; a file-system error (ENOENT, ENOSPC,
 * EACCES... on a path) is a failure naming the path; an ethers error is a failure, reported by its short message,
 * not the whole transaction it carries.
 */
export function failureOf(err: unknown): Failure | undefined {
  if (err instanceof ZkriskError) {
    const usage = USAGE_CODES.has(err.code) || err.code.startsWith("DATA_");
    return { code: err.code, message: err.message, exitCode: usage ? EXIT_USAGE : EXIT_FAILURE };
  }
  const system = err as { code?: unknown; syscall?: unknown; path?: unknown; message?: unknown };
  if (
    typeof system.code === "string" &&
    /^E[A-Z]+$/.test(system.code) &&
    typeof system.syscall === "string" &&
    typeof system.path === "string"
  ) {
    // A file the command could not read or write (a full disk, a read-only or missing place): no stack, the path
    // as the user gave it (not the temporary name an atomic write used).
    const path = system.path.replace(/\.\d+\.[0-9a-f]{8}\.tmp$/, "");
    const reason = String(system.message).split(",")[0];
    return {
      code: "FILE_ERROR",
      message: `cannot ${system.syscall} ${path}: ${reason}`,
      exitCode: EXIT_FAILURE,
    };
  }
  const { shortMessage, code } = err as { shortMessage?: unknown; code?: unknown };
  if (typeof shortMessage === "string") {
    return {
      code: typeof code === "string" ? code : "CHAIN_ERROR",
      message: shortMessage,
      exitCode: EXIT_FAILURE,
    };
  }
  return undefined;
}

/** One line on stderr: `{"error": CODE, "message": ...}`. */
function writeJsonError(code: string, message: string): void {
  process.stderr.write(JSON.stringify({ error: code, message }) + "\n");
}

/**
 * Run the CLI on process arguments; sets process.exitCode instead of exiting. Errors are one line on
 * stderr (`zkrisk: message`), or with `--json` one JSON object `{"error": CODE, "message": ...}`, with the
 * same exit codes: 2 for bad usage or input, 1 for a failure. Without `--json` an unexpected error is thrown.
 */
export async function main(argv: string[]): Promise<void> {
  const json = wantsJson(argv);
  let acted = false;
  let command: string | undefined;
  try {
    const program = buildProgram({ json });
    program.hook("preAction", (_program, action) => {
      acted = true;
      command = action.name();
      const repeated = repeatedOption(action, argv);
      if (repeated !== undefined) {
        throw new UsageError(
          `${repeated}: given more than once; give it once (only repeatable options repeat)`,
        );
      }
    });
    await program.parseAsync(argv);
  } catch (err) {
    // A signal is ending the process (core/interrupt.ts): what failed meanwhile is its doing, not to report.
    if (stoppingSignal() !== undefined) return;
    if (err instanceof CommanderError) {
      // Help and version exit with code 0; otherwise commander has printed its message (not under --json).
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
      if (json && err.exitCode !== 0)
        writeJsonError(COMMANDER_USAGE_CODE, err.message.replace(/^error: /, ""));
      return;
    }
    const failure = failureOf(err);
    if (failure === undefined && !json) throw err;
    const { code, message, exitCode } = failure ?? {
      code: INTERNAL_CODE,
      message: err instanceof Error ? err.message : String(err),
      exitCode: EXIT_FAILURE,
    };
    const own = command === undefined ? undefined : FAILURE_EXIT_CODES[command];
    process.exitCode = exitCode === EXIT_FAILURE && own !== undefined ? own : exitCode;
    if (json) writeJsonError(code, message);
    else process.stderr.write(`zkrisk: ${message}\n`);
  } finally {
    // snarkjs keeps the curve's worker threads alive; the process cannot exit until they stop.
    if (acted) await (await snarkjsModule()).releaseCurves();
  }
}
