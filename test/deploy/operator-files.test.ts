/**
 * The files operators run zkrisk with (Dockerfile, compose.yaml, deploy/): what they name must exist. The
 * compose services run zkrisk commands that exist with flags they take, on config files that the real
 * validators accept, on the ports those configs listen on; Prometheus scrapes those ports; every metric the
 * dashboard and the alert rules query is one the service or the publisher exports. The image itself is built
 * and run by tools/build-image-offline.sh (root, minutes), not in a test (docs/operating.md).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../cli/main";
import { JOB_STATUSES, type JobStatus } from "../../service/job-states";
import { parseServiceConfig } from "../../service/config";
import { ServiceMetrics } from "../../service/metrics";
import { parsePublisherConfig } from "../../publisher/serve/config";
import { PublisherMetrics } from "../../publisher/serve/metrics";

/** js-yaml: a development dependency (eslint's), untyped; its `load` parses YAML into plain values. */
const { load } = createRequire(__filename)("js-yaml") as { load(text: string): unknown };

const ROOT = join(__dirname, "../..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }> | string[];
}
const compose = load(read("compose.yaml")) as { services: Record<string, ComposeService> };
const services = compose.services;

/** The zkrisk subcommand a compose command runs (e.g. ["publisher", "serve"]) and its flags. */
function zkriskCommand(args: string[]): { command: Command; flags: string[] } {
  let command: Command = buildProgram();
  let i = 0;
  for (; i < args.length && !args[i].startsWith("-"); i++) {
    const sub = command.commands.find((c) => c.name() === args[i]);
    if (sub === undefined) throw new Error(`zkrisk has no command "${args.slice(0, i + 1).join(" ")}"`);
    command = sub;
  }
  return { command, flags: args.slice(i).filter((a) => a.startsWith("--")) };
}

/** The host path of a container path mounted from the repository (`./deploy/config:/config:ro`). */
function hostPath(service: ComposeService, containerPath: string): string {
  for (const volume of service.volumes ?? []) {
    const [host, mount] = volume.split(":");
    if (host.startsWith("./") && containerPath.startsWith(`${mount}/`)) {
      return join(ROOT, host, containerPath.slice(mount.length + 1));
    }
  }
  throw new Error(`${containerPath} is not mounted from the repository`);
}

/**
 * A config file's JSON with its absolute (container) paths moved under a temporary root where they exist (the
 * files empty), so the validator checks everything but the operator's own keys and data.
 */
function inContainer(file: string): unknown {
  const root = mkdtempSync(join(tmpdir(), "zkrisk-container-"));
  return JSON.parse(readFileSync(file, "utf8"), (_key, value: unknown) => {
    if (typeof value !== "string" || !value.startsWith("/")) return value;
    const moved = join(root, value);
    mkdirSync(dirname(moved), { recursive: true });
    if (/\.(json|db)$/.test(value)) {
      if (value.endsWith(".json")) writeFileSync(moved, "");
    } else {
      // A directory: an archive, or proving artifacts (their manifest present).
      mkdirSync(moved, { recursive: true });
      writeFileSync(join(moved, "artifacts.json"), "");
    }
    return moved;
  });
}

/** Metric names a PromQL expression reads (zkrisk's and the default process metrics). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:zkrisk|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]);
}

/**
 * The scrape jobs whose `up` series (Prometheus' own, one per target: 1 when its scrape succeeded) an
 * expression reads, from `up{job="a"}` or `up{job=~"a|b"}`.
 */
function upJobs(expr: string): string[] {
  return [...expr.matchAll(/\bup\{job=~?"([^"]+)"\}/g)].flatMap((m) => m[1].split("|"));
}

/** Every series name the service and the publisher export, histograms with their _bucket/_sum/_count. */
async function exportedNames(): Promise<Set<string>> {
  const registries = [
    new ServiceMetrics(
      async () => Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>,
    ).registry,
    new PublisherMetrics({ windows: () => ({}), batches: () => ({}), verifications: () => ({}) }).registry,
  ];
  const names = new Set<string>();
  for (const registry of registries) {
    for (const m of await registry.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === "histogram")
        for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s);
    }
  }
  return names;
}

describe("compose.yaml", () => {
  it("runs Redis append-only, and every long-running service has a health check", () => {
    expect(services.redis.command).toEqual(expect.arrayContaining(["--appendonly", "yes"]));
    for (const name of ["redis", "chain", "publisher", "prometheus"]) {
      expect(services[name].healthcheck?.test.length, name).toBeGreaterThan(1);
    }
    // The prover's is the image's own (Dockerfile HEALTHCHECK on /healthz).
    expect(services.prover.build).toBe(".");
    expect(read("Dockerfile")).toMatch(/^HEALTHCHECK [^\n]*\n\s+CMD .*127\.0\.0\.1:8080\/healthz/m);
    expect(services.prover.depends_on).toEqual({
      redis: { condition: "service_healthy" },
      chain: { condition: "service_healthy" },
      publisher: { condition: "service_healthy" },
    });
  });

  it("the publisher runs `zkrisk publisher serve` on a config the validator accepts, on the port it checks", () => {
    const { command, flags } = zkriskCommand(services.publisher.command!);
    expect(command.name()).toBe("serve");
    for (const flag of flags) expect(command.options.map((o) => o.long)).toContain(flag);
    const args = services.publisher.command!;
    const file = hostPath(services.publisher, args[args.indexOf("--config") + 1]);
    const config = parsePublisherConfig(inContainer(file), file, "/config");
    expect(config.listen.host).toBe("0.0.0.0");
    expect(services.publisher.healthcheck!.test.join(" ")).toContain(`:${config.listen.port}/health`);
    const prometheus = load(read("deploy/prometheus/prometheus.yml")) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = prometheus.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets));
    expect(targets).toContain(`publisher:${config.listen.port}`);
  });

  it("the prover runs the image's `zkrisk serve --config` in Redis mode, on a config the validator accepts", () => {
    const args = services.prover.command!;
    const { command, flags } = zkriskCommand(args);
    expect(command.name()).toBe("serve");
    for (const flag of flags) expect(command.options.map((o) => o.long)).toContain(flag);
    expect(args[args.indexOf("--queue") + 1]).toBe("redis://redis:6379");
    const dockerfile = read("Dockerfile");
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]) as string[];
    expect(args.slice(0, cmd.length)).toEqual(cmd);
    const file = hostPath(services.prover, args[args.indexOf("--config") + 1]);
    const config = parseServiceConfig(inContainer(file), file, "/config");
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(dockerfile).toMatch(/^EXPOSE 8080$/m);
    expect(config.chain.rpc).toBe("http://chain:8545");
    expect(config.markets[0].publishers.urls).toEqual([`http://publisher:8090`]);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["zkrisk"\]$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    const bin = (JSON.parse(read("package.json")) as { bin: Record<string, string> }).bin;
    expect(Object.keys(bin)).toEqual(["zkrisk"]);
  });
});

describe("dashboard and alerts", () => {
  it("every metric the Grafana dashboard queries is exported", async () => {
    const exported = await exportedNames();
    const dashboard = JSON.parse(read("deploy/grafana/zkrisk-dashboard.json")) as {
      panels: { type: string; title: string; targets?: { expr: string }[] }[];
    };
    const queried = dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr)));
    expect(queried.length).toBeGreaterThan(10);
    for (const name of queried) expect(exported, name).toContain(name);
  });

  it("every alert rule reads exported metrics, and one fires on a market whose data is too old", async () => {
    const exported = await exportedNames();
    const rules = (
      load(read("deploy/prometheus/alerts.yml")) as { groups: { rules: { alert: string; expr: string }[] }[] }
    ).groups.flatMap((g) => g.rules);
    const scrapeJobs = (
      load(read("deploy/prometheus/prometheus.yml")) as { scrape_configs: { job_name: string }[] }
    ).scrape_configs.map((s) => s.job_name);
    for (const rule of rules) {
      expect(metricNames(rule.expr).length + upJobs(rule.expr).length, rule.alert).toBeGreaterThan(0);
      for (const name of metricNames(rule.expr)) expect(exported, `${rule.alert}: ${name}`).toContain(name);
      for (const job of upJobs(rule.expr)) expect(scrapeJobs, `${rule.alert}: up of ${job}`).toContain(job);
    }
    // A target that is down or gone, and a prover whose job store does not answer, each fire an alert of
    // their own: the others cannot fire without the metrics.
    const exprs = rules.map((r) => r.expr.replace(/\s+/g, " "));
    for (const job of scrapeJobs) {
      expect(
        exprs.some((e) => upJobs(e).includes(job) && / == 0$/.test(e)),
        `${job} down`,
      ).toBe(true);
      expect(
        exprs.some((e) => e.includes(`absent(up{job="${job}"})`)),
        `${job} absent`,
      ).toBe(true);
    }
    expect(exprs).toContain("zkrisk_store_up == 0");
    const stale = rules.find((r) => r.alert === "ZkriskMarketDataStale");
    expect(stale?.expr).toMatch(/time\(\) - zkrisk_last_accepted_data_timestamp_seconds > /);
    const grafana = read("deploy/grafana/alerting.yaml");
    for (const name of metricNames(grafana)) expect(exported, name).toContain(name);
  });

  it("every reason an alert matches is one the service or the publisher reports", () => {
    const sources = ["service", "publisher/serve"]
      .flatMap((dir) =>
        readdirSync(join(ROOT, dir))
          .filter((f) => f.endsWith(".ts"))
          .map((f) => read(`${dir}/${f}`)),
      )
      .join("\n");
    const rules = read("deploy/prometheus/alerts.yml") + read("deploy/grafana/alerting.yaml");
    const reasons = [...rules.matchAll(/\breason="([^"]+)"/g)].map((m) => m[1]);
    expect(reasons).toContain("quorum_deadline");
    for (const reason of reasons) expect(sources, reason).toContain(`"${reason}"`);
  });

  it("every API route an alert's text sends the operator to is a route of the prover or the publisher", () => {
    const routes = ["deploy/openapi/prover-service.json", "deploy/openapi/publisher.json"].flatMap((f) =>
      Object.keys((JSON.parse(read(f)) as { paths: Record<string, unknown> }).paths),
    );
    // `/v1/markets/{{ $labels.market }}` names the route `/v1/markets/{id}`
    const asRoute = (path: string) => path.replace(/\{\{[^}]*\}\}/g, "{}").replace(/\{[A-Za-z]+\}/g, "{}");
    const known = new Set([...routes.map(asRoute), "/health", "/healthz", "/readyz", "/metrics"]);
    for (const file of ["deploy/prometheus/alerts.yml", "deploy/grafana/alerting.yaml"]) {
      const mentioned =
        read(file).match(/\/v1(?:\/(?:[\w-]+|\{\{[^}]*\}\}|\{\w+\}))+|\/(?:health|healthz|readyz)\b/g) ?? [];
      for (const path of mentioned) expect(known, `${file}: ${path}`).toContain(asRoute(path));
    }
  });
});
