/**
 * `--market-model LABEL=FILE` of `zkrisk prove` and `zkrisk verify` takes one value and repeats: variadic, it took
 * the operand that follows as a second value (`verify --market-model A=a.json proof.json --artifacts DIR` failed
 * with "missing required argument 'proof'"). Parsed by the program itself, with the command's action replaced.
 */
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram, repeatedOption } from "../../cli/main";

/** Parse `zkrisk ...args` and return what `name`'s action was given (its operands and options). */
async function parsed(name: string, ...args: string[]): Promise<unknown[]> {
  const program = buildProgram();
  const command = program.commands.find((c) => c.name() === name)!;
  let given: unknown[] = [];
  command.action((...a: unknown[]) => {
    given = a.slice(0, -1); // the last is the command itself
  });
  await program.parseAsync(["node", "zkrisk", name, ...args]);
  return given;
}

describe("--market-model: one LABEL=FILE per flag, repeatable", () => {
  it("verify: the proof file after --market-model is the operand", async () => {
    expect(
      await parsed(
        "verify",
        "--market-model",
        "ETH-USDT=eth.json",
        "proof.json",
        "--artifacts",
        "art",
        "--market-model",
        "SOL-USDT=sol.json",
      ),
    ).toEqual(["proof.json", { artifacts: "art", marketModel: ["ETH-USDT=eth.json", "SOL-USDT=sol.json"] }]);
  });

  it("prove: each --market-model adds one market, and a repeat is not refused as a repeated single option", async () => {
    const args = ["--artifacts", "art", "--batch", "a.json", "--market-model", "ETH-USDT=e.json"];
    const [flags] = (await parsed(
      "prove",
      ...args,
      "--market-model",
      "SOL-USDT=s.json",
      "--out",
      "p.json",
    )) as [{ marketModel: string[]; batch: string[] }];
    expect(flags.marketModel).toEqual(["ETH-USDT=e.json", "SOL-USDT=s.json"]);
    expect(flags.batch).toEqual(["a.json"]);
    const prove = buildProgram().commands.find((c: Command) => c.name() === "prove")!;
    expect(
      repeatedOption(prove, ["node", "zkrisk", "prove", ...args, "--market-model", "B=b"]),
    ).toBeUndefined();
  });
});
