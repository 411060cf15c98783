/**
 * Shared core: URLs made safe to log. The one owner of URL redaction, used by the service's config printout, its
 * messages, logs and job reasons, and by the Redis job store's messages and start-up log.
 *
 * What is masked (`redactUrl`): the user name and the password, every query value (`?apikey=`), the fragment, and
 * every path segment of `KEY_SEGMENT_LENGTH` characters or more, which is where hosted nodes put their keys
 * (Infura's `/v3/KEY`, Alchemy's `/v2/KEY`, QuickNode's `/TOKEN/`); shorter segments (`/v1`, `/rpc`) and the
 * scheme, host and port stay, so a message still says which endpoint it is about.
 */

/** Path segments at least this long (once decoded) are taken for keys and masked: an API key is 20 to 64. */
export const KEY_SEGMENT_LENGTH = 16;

/** What a masked part of a URL is shown as. */
const MASK = "***";

/**
 * `text` with its user name, password, every query value, its fragment and every path segment of
 * `KEY_SEGMENT_LENGTH` characters or more replaced by `***`, e.g. `https://***:***@rpc.example/v2/***?apikey=***`.
 * Never throws: text that does not parse as a URL is shown as its scheme and `***` (`https://***`), or `***`.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text);
    return scheme ? `${scheme[0]}${MASK}` : MASK;
  }
  if (url.username) url.username = MASK;
  if (url.password) url.password = MASK;
  for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, MASK);
  if (url.hash) url.hash = MASK;
  url.pathname = url.pathname
    .split("/")
    .map((segment) => (decoded(segment).length >= KEY_SEGMENT_LENGTH ? MASK : segment))
    .join("/");
  return url.toString();
}

/** A URL in free text: a scheme, `//`, then anything up to white space or a quote or bracket. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]+/gi;

/** Punctuation that ends a sentence or a clause after a URL rather than belonging to it. */
const TRAILING_PUNCTUATION = /[.,;:!?)\]}]+$/;

/**
 * `text` (an error message, a log field) with every URL in it shown as `redactUrl` shows it: for messages of
 * libraries that quote the URL they were given (Node's fetch, ethers), credentials and keys included.
 */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (found) => {
    const tail = TRAILING_PUNCTUATION.exec(found)?.[0] ?? "";
    return redactUrl(found.slice(0, found.length - tail.length)) + tail;
  });
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
