/**
 * Shared core: URLs made safe to log. The one owner of URL redaction, used by the service's config printout and
 * by the Redis job store's messages.
 */

/**
 * `text` with its user name, password and every query value replaced by `***`, e.g.
 * `https://***:***@rpc.example/v1?apikey=***`. For URLs already validated (it throws a TypeError on one that
 * does not parse).
 */
export function redactUrl(text: string): string {
  const url = new URL(text);
  if (url.username) url.username = "***";
  if (url.password) url.password = "***";
  for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, "***");
  return url.toString();
}

/**
 * `url` without its password (the user name stays), e.g. `rediss://user@example.org:6380/1`, for messages and logs.
 * Returns `url` unchanged when it has no password or does not parse, so it is safe on untrusted input.
 */
export function redactUrlPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === "") return url;
    parsed.password = "";
    return parsed.toString();
  } catch {
    return url;
  }
}
