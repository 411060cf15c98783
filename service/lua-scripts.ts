/**
 * The Redis Lua scripts of the service, kept as files in `lua/` (`<name>-<numkeys>.lua`, each with a header
 * naming its KEYS, ARGV and reply), loaded at run time. Every key a script touches is passed in KEYS, never
 * built inside the script, so a Redis Cluster can route it (given a hash-tagged prefix, e.g. "{zkrisk}").
 * A line `--- @include "NAME"` is replaced by `lua/includes/NAME.lua`, as BullMQ's commands do.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packagePath } from "../core/package-root";

/** Folder of the script files. */
export const LUA_DIR = packagePath("service/lua");

/** A loaded script, as `ioredis`' `defineCommand` takes it. */
export interface LuaScript {
  /** The file name without the key count and extension (e.g. "claim"). */
  name: string;
  /** Number of KEYS the script takes (from its file name). */
  numberOfKeys: number;
  /** The source, includes expanded. */
  lua: string;
}

/** Load `lua/<file>` (e.g. "claim-19.lua"), expanding its includes. */
export function loadLuaScript(file: string): LuaScript {
  const match = /^([a-z-]+)-(\d+)\.lua$/.exec(file);
  if (!match) throw new Error(`${file}: a Lua script's file name must be <name>-<numkeys>.lua`);
  const source = readFileSync(join(LUA_DIR, file), "utf8");
  const lua = source.replace(/^--- @include "([a-z-]+)"$/gm, (_, name: string) =>
    readFileSync(join(LUA_DIR, "includes", `${name}.lua`), "utf8"),
  );
  return { name: match[1], numberOfKeys: Number(match[2]), lua };
}
