/**
 * A candle source as a config file describes it (the publisher's `markets[].source`), and the source it gives.
 * One JSON object with exactly one of these keys:
 *
 *   { "csv": FILE }                                 a candle CSV file another process appends to
 *   { "url": URL, "timeoutMs": N }                  JSON candles over HTTP (sources.ts, HttpCandleSource)
 *   { "klines": FILE }                              Binance klines JSON in a file (binance-klines.ts)
 *   { "klines": URL, "timeoutMs": N }               Binance klines JSON over HTTP
 *
 * Relative paths are taken from the config file's directory; a `klines` value with a scheme (`https://...`)
 * is a URL, which must be http(s). `timeoutMs` (optional) applies to URLs only. Each config file says which keys it
 * accepts, so the messages list exactly those.
 */
import { resolve } from "node:path";
import { redactUrl } from "../core/url";
import { httpUrl, nonEmptyString, optionalNumber, type JsonReader } from "../core/validate";
import { KlinesFileSource, KlinesHttpSource } from "./binance-klines";
import { CsvCandleSource, HttpCandleSource, type CandleSource } from "./sources";

/** Where a market's candles come from. */
export type CandleSourceConfig =
  | { kind: "csv"; /** Absolute path of a CSV file another process appends to. */ path: string }
  | { kind: "http"; /** http(s) URL answering a JSON candle list. */ url: string; timeoutMs: number }
  | { kind: "klines-file"; /** Absolute path of a Binance klines JSON file. */ path: string }
  | { kind: "klines-http"; /** http(s) URL answering Binance klines JSON. */ url: string; timeoutMs: number };

/** The keys that select a source in a config file. */
export type CandleSourceKey = "csv" | "url" | "klines";

/** Range of `timeoutMs`, ms. */
export const SOURCE_TIMEOUT_RANGE = { min: 100, max: 120_000 } as const;

/** `"a" or "b"`, `"a", "b" or "c"`. */
function orList(keys: readonly string[]): string {
  const quoted = keys.map((k) => JSON.stringify(k));
  return quoted.length === 1
    ? quoted[0]
    : `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1]}`;
}

/**
 * Reads a source object (layout above).
 * @param accepted the keys this config file accepts (messages list them in this order).
 * @param base directory relative paths are resolved against (the config file's).
 * @param defaultTimeoutMs `timeoutMs` when a URL source does not give one.
 * @throws whatever `r` raises (the caller's error family), naming the field and the value.
 */
export function readCandleSourceConfig(
  r: JsonReader,
  base: string,
  accepted: readonly CandleSourceKey[],
  defaultTimeoutMs: number,
): CandleSourceConfig {
  r.onlyKeys([...accepted, "timeoutMs"]);
  const present = accepted.filter((key) => r.has(key));
  if (present.length !== 1) r.error(`expected exactly one of ${orList(accepted)}`);
  const timeout = () =>
    optionalNumber(r, "timeoutMs", defaultTimeoutMs, SOURCE_TIMEOUT_RANGE.min, SOURCE_TIMEOUT_RANGE.max);
  const noTimeout = () => {
    if (!r.has("timeoutMs")) return;
    const urls = accepted.includes("klines") ? 'a "url" source or a "klines" URL' : 'a "url" source';
    r.at("timeoutMs").error(`only applies to ${urls}`);
  };
  switch (present[0]) {
    case "csv":
      noTimeout();
      return { kind: "csv", path: resolve(base, nonEmptyString(r.at("csv"))) };
    case "url":
      return { kind: "http", url: httpUrl(r.at("url")), timeoutMs: timeout() };
    case "klines": {
      const field = r.at("klines");
      const text = nonEmptyString(field);
      // Anything with a scheme is a URL, and must be http(s); without one, a path.
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
        return { kind: "klines-http", url: httpUrl(field), timeoutMs: timeout() };
      noTimeout();
      return { kind: "klines-file", path: resolve(base, text) };
    }
  }
}

/** The source a config describes. */
export function candleSourceOf(config: CandleSourceConfig): CandleSource {
  switch (config.kind) {
    case "csv":
      return new CsvCandleSource(config.path);
    case "http":
      return new HttpCandleSource(config.url, config.timeoutMs);
    case "klines-file":
      return new KlinesFileSource(config.path);
    case "klines-http":
      return new KlinesHttpSource(config.url, config.timeoutMs);
  }
}

/** The config for logs and `--check`: credentials and query values in a URL masked (`redactUrl`). */
export function redactedSourceConfig(config: CandleSourceConfig): CandleSourceConfig {
  return "url" in config ? { ...config, url: redactUrl(config.url) } : config;
}
