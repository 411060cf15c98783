/**
 * circom's .sym file: one line per signal, `labelIndex,wireIndex,componentIndex,name`, with wireIndex -1
 * for a signal that the optimiser eliminated (it is then not in the witness).
 */
import fs from "node:fs";

/** The signal table of one compiled circuit. */
export interface SymbolTable {
  /** Signal name (e.g. `main.r.d.bits[3]`) to witness index, -1 when eliminated. */
  index: Map<string, number>;
  /** Witness index to the names that share it (aliases), in file order. */
  wireNames: Map<number, string[]>;
}

const cache = new Map<string, { mtimeMs: number; table: SymbolTable }>();

/** Read a .sym file (memoised per path and modification time). */
export function readSymbols(symPath: string): SymbolTable {
  const { mtimeMs } = fs.statSync(symPath);
  const hit = cache.get(symPath);
  if (hit && hit.mtimeMs === mtimeMs) return hit.table;
  const index = new Map<string, number>();
  const wireNames = new Map<number, string[]>();
  for (const line of fs.readFileSync(symPath, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const parts = line.split(",");
    if (parts.length < 4) throw new Error(`${symPath}: malformed line ${JSON.stringify(line)}`);
    const wire = Number(parts[1]);
    const name = parts.slice(3).join(",");
    index.set(name, wire);
    if (wire >= 0) {
      const names = wireNames.get(wire);
      if (names) names.push(name);
      else wireNames.set(wire, [name]);
    }
  }
  const table = { index, wireNames };
  cache.set(symPath, { mtimeMs, table });
  return table;
}

/**
 * The witness index of a signal such as `main.r.d.bits[3]`: -1 when the optimiser eliminated it,
 * undefined when the circuit has no such signal.
 */
export function signalIndex(symPath: string, name: string): number | undefined {
  return readSymbols(symPath).index.get(name);
}
