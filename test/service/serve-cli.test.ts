/**
 * `zkrisk serve` as users call it, short of running: `--help`, `--check` (the config validated and printed
 * without secrets), and bad usage (exit code 2 with a message naming the option or the config field), a job
 * database that could not be opened included, and a `listen.host` or `listen.port` it cannot listen on.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { compileCircom } from "../../circuits/circom";
import { devSetupCircuit } from "../../setup";
import { buildCacheEntry } from "../../core/atomic-file";
import { DEMO_CACHE, usableArtifacts } from "../../setup/cached-artifacts";
import {
  makePublisherSet,
  publicKeyOf,
  publisherSetCommitment,
  writePublisherSet,
  type PublisherSet,
} from "../../publisher";
import { MODEL } from "../helpers/artifacts";
import { privateKeyOf } from "../helpers/publisher-serve";

const BIN = join(__dirname, "../..", "bin/zkrisk.cjs");
const SECRET = "0x" + "ab".repeat(32);

function zkrisk(args: string[], env: NodeJS.ProcessEnv = { ZKRISK_SERVE_TEST_KEY: SECRET }) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A publisher set of two test keys, quorum 2. */
let set: PublisherSet;
/**
 * Artifacts that pass every check `serve` makes before the chain: a one-constraint circuit (not the signed-update
 * circuit: nothing is proved here) whose manifest records `model`, a copy of MODEL, and whose circuit.json says
 * signed update, quorum 2. Built once (a few seconds) and cached under `.zkrisk-cache/demo`.
 */
let artifacts: string;
let model: string;
beforeAll(async () => {
  const keys = await Promise.all([51, 52].map((n) => publicKeyOf(privateKeyOf(n))));
  set = await makePublisherSet(keys, 2);
  artifacts = join(DEMO_CACHE, "serve-cli-stand-in");
  model = join(artifacts, "model.json");
  // Absent or stale: build it.
  const usable = (dir: string) => usableArtifacts(dir, join(dir, "model.json"));
  if (usable(artifacts)) return;
  await buildCacheEntry(artifacts, usable, async (into) => {
    copyFileSync(MODEL, join(into, "model.json"));
    writeFileSync(join(into, "circuit.json"), JSON.stringify({ quorum: 2, mode: "constant" }));
    const source = join(into, "square.circom");
    writeFileSync(
      source,
      "pragma circom 2.1.0;\ntemplate Square() {\n  signal input x;\n  signal output y;\n  y <== x * x;\n}\n" +
        "component main = Square();\n",
    );
    const compiled = await compileCircom(source, join(into, "build"));
    await devSetupCircuit({
      name: "square",
      r1csPath: compiled.r1csPath,
      wasmPath: compiled.wasmPath,
      modelPath: join(into, "model.json"),
      outDir: into,
    });
  });
}, 120_000);

/**
 * A service config in a new temporary directory; `extra` replaces top-level keys, `marketModel` (a file's text,
 * written as `model.json` next to the config) replaces the market's model.
 */
function configFile(extra: Record<string, unknown> = {}, marketModel?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-serve-cli-"));
  writePublisherSet(join(dir, "publishers.json"), set);
  if (marketModel !== undefined) writeFileSync(join(dir, "model.json"), marketModel);
  const path = join(dir, "service.json");
  writeFileSync(
    path,
    JSON.stringify({
      markets: [
        {
          id: "BTC-USDT",
          model: marketModel === undefined ? model : "model.json",
          artifacts,
          publishers: {
            set: "publishers.json",
            urls: ["http://127.0.0.1:8090", "https://pub.example/publisher-secret-0123/?key=k-secret"],
          },
        },
      ],
      chain: {
        rpc: "http://user:pass@127.0.0.1:8545",
        oracle: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        key: { env: "ZKRISK_SERVE_TEST_KEY" },
      },
      auth: { tokens: [{ sha256: "11".repeat(32) }] },
      ...extra,
    }),
  );
  return path;
}

describe("zkrisk serve (command line)", () => {
  it("documents its options", () => {
    const r = zkrisk(["serve", "--help"]);
    expect(r.code).toBe(0);
    for (const option of ["--config", "--queue", "--check", "--grace", "--log-level"]) {
      expect(r.stdout).toContain(option);
    }
  });

  it("--check validates the config and prints it without secrets", async () => {
    const path = configFile();
    const r = zkrisk(["serve", "--config", path, "--check"]);
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as {
      markets: { id: string; artifacts: string; publishers: unknown }[];
      chain: { rpc: string; key: unknown };
      concurrency: number;
    };
    expect(printed.markets[0]).toMatchObject({ id: "BTC-USDT", artifacts });
    expect(printed.markets[0].publishers).toEqual({
      set: join(path, "..", "publishers.json"),
      urls: ["http://127.0.0.1:8090/", "https://pub.example/***/?key=***"],
      timeoutMs: 10_000,
      waitSeconds: 3600,
      quorum: 2,
      keys: 2,
      commitment: (await publisherSetCommitment(set)).toString(),
    });
    expect(printed.chain.key).toEqual({ kind: "env", name: "ZKRISK_SERVE_TEST_KEY" });
    expect(printed.concurrency).toBe(1);
    expect(r.stdout).not.toContain("pass@");
    expect(r.stdout).not.toContain("publisher-secret");
    expect(r.stdout).not.toContain("k-secret");
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).not.toContain("11".repeat(32));
  });

  it("--check prints every setting, the Redis mode's queue included", () => {
    const r = zkrisk(["serve", "--config", configFile({ queue: { lockSeconds: 5 } }), "--check"]);
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(printed)).toEqual([
      "file",
      "markets",
      "batches",
      "chain",
      "schedule",
      "concurrency",
      "listen",
      "auth",
      "database",
      "api",
      "queue",
    ]);
    expect(printed.queue).toEqual({ lockSeconds: 5, leaseSeconds: 10, prefix: "zkrisk" });
  });

  it("refuses a bad config or bad options with exit code 2 and a message naming them", () => {
    const typo = zkrisk(["serve", "--config", configFile({ concurency: 2 }), "--check"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/service\.json: concurency: unknown key/);
    const queue = zkrisk(["serve", "--config", configFile(), "--queue", "http://127.0.0.1:6379"]);
    expect(queue.code).toBe(2);
    expect(queue.stderr).toContain("--queue: 'http://127.0.0.1:6379' is not a redis:// or rediss:// URL");
    const level = zkrisk(["serve", "--config", configFile(), "--log-level", "loud"]);
    expect(level.code).toBe(2);
    expect(level.stderr).toContain("--log-level: 'loud' is not one of");
    expect(zkrisk(["serve"]).code).toBe(2);
    // The publisher set file is read by --check too.
    const path = configFile();
    writeFileSync(join(path, "..", "publishers.json"), JSON.stringify({ version: 1, quorum: 3, keys: [] }));
    const set = zkrisk(["serve", "--config", path, "--check"]);
    expect(set.code).toBe(2);
    expect(set.stderr).toContain(
      `service.json: markets[0].publishers.set: ${join(path, "..", "publishers.json")}: keys: publisher set: no keys`,
    );
  });
  it("--check loads every model as serve does: not JSON, or an unknown key, is exit 2 naming markets[0].model", () => {
    const withKey = JSON.stringify({ ...JSON.parse(readFileSync(MODEL, "utf8")), surprise: 1 });
    for (const [text, reason] of [
      ["{ not json", /not valid JSON|JSON/],
      [withKey, /surprise/],
    ] as const) {
      const path = configFile({}, text);
      const file = join(path, "..", "model.json");
      for (const args of [["--check"], ["--check", "--json"], []]) {
        const r = zkrisk(["serve", "--config", path, ...args]);
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
        expect(r.stdout).toBe("");
        const message = args.includes("--json")
          ? (JSON.parse(r.stderr) as { error: string; message: string }).message
          : r.stderr;
        expect(message).toContain(`service.json: markets[0].model: ${file}`);
        expect(message).toMatch(reason);
      }
      // serve refused it before opening its job store: no database file (zkrisk.db) left behind
      expect(readdirSync(join(path, ".."))).toEqual(["model.json", "publishers.json", "service.json"]);
    }
  });

  it("--check checks the artifacts against their manifest, naming markets[0].artifacts", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-serve-cli-artifacts-"));
    writeFileSync(join(dir, "artifacts.json"), "{}");
    writeFileSync(join(dir, "circuit.json"), JSON.stringify({ quorum: 2, mode: "constant" }));
    const path = configFile();
    const doc = JSON.parse(readFileSync(path, "utf8")) as { markets: { artifacts: string }[] };
    doc.markets[0].artifacts = dir;
    writeFileSync(path, JSON.stringify(doc));
    const r = zkrisk(["serve", "--config", path, "--check"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `service.json: markets[0].artifacts: ${join(dir, "artifacts.json")}: manifest version`,
    );
  });

  it("--check --json prints one JSON object: checked, and the config", () => {
    const r = zkrisk(["serve", "--config", configFile(), "--check", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as { checked: boolean; config: { markets: { id: string }[] } };
    expect(printed.checked).toBe(true);
    expect(printed.config.markets[0].id).toBe("BTC-USDT");
    const bad = zkrisk(["serve", "--config", configFile({ concurency: 2 }), "--check", "--json"]);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr)).toMatchObject({ error: "CONFIG_INVALID" });
  });
  it("a start that fails on the chain (no node at the RPC URL) exits and removes the SQLite file it created", () => {
    const path = configFile({ listen: { host: "127.0.0.1", port: 0 } });
    const doc = JSON.parse(readFileSync(path, "utf8")) as { chain: { rpc: string } };
    doc.chain.rpc = "http://127.0.0.1:9";
    writeFileSync(path, JSON.stringify(doc));
    const r = zkrisk(["serve", "--config", path]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${path}: chain.rpc: cannot reach http://127.0.0.1:9`);
    expect(readdirSync(join(path, ".."))).toEqual(["publishers.json", "service.json"]);
  });
  it("a start that fails on the chain names the RPC URL without its password or API key", () => {
    const path = configFile({ listen: { host: "127.0.0.1", port: 0 } });
    const doc = JSON.parse(readFileSync(path, "utf8")) as { chain: { rpc: string } };
    doc.chain.rpc = "http://rpcuser:rpcS3cretPW@127.0.0.1:9/?apikey=RPCAPIKEY77";
    writeFileSync(path, JSON.stringify(doc));
    const r = zkrisk(["serve", "--config", path]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${path}: chain.rpc: cannot reach http://***:***@127.0.0.1:9/?apikey=***: `);
    for (const secret of ["rpcS3cretPW", "RPCAPIKEY77"]) expect(r.stdout + r.stderr).not.toContain(secret);
  });
  it("refuses a publisher URL with a password: exit 2 naming the file, the field and the URL masked", () => {
    const path = configFile();
    const doc = JSON.parse(readFileSync(path, "utf8")) as { markets: { publishers: { urls: string[] } }[] };
    doc.markets[0].publishers.urls[1] = "http://reader:pubS3cretPW@127.0.0.1:8091/";
    writeFileSync(path, JSON.stringify(doc));
    for (const args of [["--check"], []]) {
      const r = zkrisk(["serve", "--config", path, ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(
        `${path}: markets[0].publishers.urls[1]: http://***:***@127.0.0.1:8091/ holds a user name or password`,
      );
      expect(r.stdout + r.stderr).not.toContain("pubS3cretPW");
    }
  });
  it("a host that is not one, or a port in use: exit code 2 naming listen.host or listen.port, the store removed", async () => {
    const taken = createServer().listen(0, "127.0.0.1");
    await new Promise((done) => taken.once("listening", done));
    const port = (taken.address() as { port: number }).port;
    /** `zkrisk ARGS` run asynchronously (this process must keep answering: it holds the port). */
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
        const child = spawn(process.execPath, [BIN, ...args], {
          env: { ...process.env, ZKRISK_SERVE_TEST_KEY: SECRET },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => done({ code, stdout, stderr }));
      });
    try {
      const badHost = configFile({ listen: { host: "not a host", port: 0 } });
      const inUse = configFile({ listen: { host: "127.0.0.1", port } });
      const [check, host, used] = await Promise.all([
        run(["serve", "--config", badHost, "--check"]),
        run(["serve", "--config", badHost]),
        run(["serve", "--config", inUse]),
      ]);
      // Before: --check passed; serve exited 1 with a stack trace (getaddrinfo ENOTFOUND, listen EADDRINUSE).
      for (const r of [check, host]) {
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(
          `zkrisk: ${badHost}: listen.host: "not a host" does not resolve to an address (ENOTFOUND)`,
        );
      }
      expect(used.code, used.stderr).toBe(2);
      expect(used.stderr).toContain(
        `zkrisk: ${inUse}: listen.port: ${port} is in use on 127.0.0.1 (EADDRINUSE)`,
      );
      for (const r of [check, host, used]) {
        expect(r.stdout).toBe("");
        expect(r.stderr.split("\n").filter((l) => /^\s+at /.test(l))).toEqual([]);
      }
      // The job store was closed and its new SQLite file removed, as for any start that fails.
      for (const path of [badHost, inUse]) {
        expect(readdirSync(join(path, ".."))).toEqual(["publishers.json", "service.json"]);
      }
    } finally {
      taken.close();
    }
  });
  it("--check reads the secrets serve reads at start: an unset key variable is exit 2 naming it", () => {
    const r = zkrisk(["serve", "--config", configFile(), "--check"], { ZKRISK_SERVE_TEST_KEY: "" });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("chain.key.env");
    expect(r.stderr).toContain("ZKRISK_SERVE_TEST_KEY");
    expect(r.stdout).toBe("");
  });

  it("refuses a job database it could not open (a directory, under a file, on /proc) with exit code 2 naming `database`", () => {
    const path = configFile();
    const dir = join(path, "..");
    mkdirSync(join(dir, "jobs"));
    const cases: [string, string, string[]][] = [
      [join(dir, "jobs"), `database: '${join(dir, "jobs")}' is a directory, not a file`, ["--check"]],
      [
        join(dir, "publishers.json", "jobs.db"),
        `database: '${join(dir, "publishers.json", "jobs.db")}' lies under '${join(dir, "publishers.json")}', which is a file`,
        ["--check"],
      ],
    ];
    // Before: --check passed, and serve failed "cannot open the job store" (or hung in a recursive mkdir).
    if (existsSync("/proc/self")) {
      const reason =
        "database: cannot write to '/proc/zkrisk/jobs.db': '/proc' exists but takes no new entries (as a pseudo " +
        "file system such as /proc); creating an entry there failed with ENOENT";
      cases.push(["/proc/zkrisk/jobs.db", reason, ["--check"]], ["/proc/zkrisk/jobs.db", reason, []]);
    }
    for (const [database, reason, args] of cases) {
      const doc = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      writeFileSync(path, JSON.stringify({ ...doc, database, listen: { host: "127.0.0.1", port: 0 } }));
      const r = zkrisk(["serve", "--config", path, ...args]);
      expect(r.code, `${database} ${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(`zkrisk: ${path}: ${reason}`);
    }
    // The write probes were removed again.
    expect(readdirSync(dir).sort()).toEqual(["jobs", "publishers.json", "service.json"]);
    expect(readdirSync(join(dir, "jobs"))).toEqual([]);
  });

  it("--check accepts an existing database without touching it, and a new one in a directory still to be made", () => {
    const path = configFile({ database: "existing.db" });
    const dir = join(path, "..");
    const db = join(dir, "existing.db");
    writeFileSync(db, "not opened by --check");
    const before = statSync(db).mtimeMs;
    const existing = zkrisk(["serve", "--config", path, "--check"]);
    expect(existing.code, existing.stderr).toBe(0);
    expect((JSON.parse(existing.stdout) as { database: string }).database).toBe(db);
    expect(readFileSync(db, "utf8")).toBe("not opened by --check");
    expect(statSync(db).mtimeMs).toBe(before);
    const later = configFile({ database: "data/jobs/zkrisk.db" });
    const fresh = zkrisk(["serve", "--config", later, "--check"]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(readdirSync(join(later, "..")).sort()).toEqual(["publishers.json", "service.json"]);
    expect(readdirSync(dir).sort()).toEqual(["existing.db", "publishers.json", "service.json"]);
  });
});
