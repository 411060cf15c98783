/**
 * URLs and the chain's errors made safe to show (core/url.ts, service/redaction.ts, service/chain-view.ts): what
 * `redactUrl` masks (credentials, query values, keys in the path) and keeps, URLs inside free text, ethers' request
 * details, and the chain view against a small JSON-RPC server on 127.0.0.1 that answers HTTP 401 once told to: its
 * errors (start-up, the chain's clock, any read through its provider) name the RPC URL redacted, never its password
 * or API key, while the credentials still reach the node.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redactUrl, redactUrlsIn } from "../../core/url";
import { ChainView } from "../../service/chain-view";
import { redactedErrorMessage, redactedText } from "../../service/redaction";
import type { ServiceConfig } from "../../service/config";

const PASSWORD = "rpcS3cretPW";
const API_KEY = "RPCAPIKEY77";

/** Every secret of the RPC URL: none may appear in what the service shows. */
function expectNoSecret(text: string): void {
  for (const secret of [PASSWORD, API_KEY]) expect(text).not.toContain(secret);
}

describe("redactUrl", () => {
  it("masks the user, the password, every query value and the fragment; scheme, host, port and path stay", () => {
    expect(redactUrl(`http://rpcuser:${PASSWORD}@127.0.0.1:8545/?apikey=${API_KEY}&chain=1#frag`)).toBe(
      "http://***:***@127.0.0.1:8545/?apikey=***&chain=***#***",
    );
    expect(redactUrl("https://rpc.example/v1/rpc")).toBe("https://rpc.example/v1/rpc");
    expect(redactUrl("http://127.0.0.1:9")).toBe("http://127.0.0.1:9/");
  });

  it("masks path segments long enough to be keys (Infura's /v3/KEY, Alchemy's /v2/KEY)", () => {
    expect(redactUrl("https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161")).toBe(
      "https://mainnet.infura.io/v3/***",
    );
    expect(redactUrl("https://eth-mainnet.g.alchemy.com/v2/Gx1vL0yJ2cVLjUUaUgYQkTQyc_mDYKbX/")).toBe(
      "https://eth-mainnet.g.alchemy.com/v2/***/",
    );
    // 15 characters is a name, not a key.
    expect(redactUrl("https://pub.example/publisher-eu-1/")).toBe("https://pub.example/publisher-eu-1/");
  });

  it("never throws: text that is not a URL is shown as its scheme and ***", () => {
    expect(redactUrl(`http://u:${PASSWORD}@[bad`)).toBe("http://***");
    expect(redactUrl("not a url")).toBe("***");
  });
});

describe("redactUrlsIn", () => {
  it("redacts every URL in a message, keeping the punctuation after it", () => {
    // Node's fetch refusing a URL with credentials quotes it.
    const fetchError =
      "Request cannot be constructed from a URL that includes credentials: " +
      `http://reader:pubS3cretPW@127.0.0.1:4000/v1/windows/BTC-USDT?at=1717192800000`;
    expect(redactUrlsIn(fetchError)).toBe(
      "Request cannot be constructed from a URL that includes credentials: " +
        "http://***:***@127.0.0.1:4000/v1/windows/BTC-USDT?at=***",
    );
    expect(redactUrlsIn(`chain http://u:${PASSWORD}@h:1/?apikey=${API_KEY}: down (see http://h:2/x).`)).toBe(
      "chain http://***:***@h:1/?apikey=***: down (see http://h:2/x).",
    );
    expect(redactUrlsIn("no URL here: 127.0.0.1:8545")).toBe("no URL here: 127.0.0.1:8545");
  });
});

describe("redactedText", () => {
  it("cuts ethers' request, response and info details (the request URL) and keeps the node's words", () => {
    const transport =
      'server response 401 Unauthorized (request={  }, response={  }, error=null, info={ "requestUrl": ' +
      `"http://rpcuser:${PASSWORD}@127.0.0.1:45321/?apikey=${API_KEY}", "responseBody": "{\\"a\\": \\"}\\"}", ` +
      '"responseStatus": "401 Unauthorized" }, code=SERVER_ERROR, version=6.17.0)';
    expect(redactedText(transport)).toBe(
      "server response 401 Unauthorized (error=null, code=SERVER_ERROR, version=6.17.0)",
    );
    const node =
      'could not coalesce error (error={ "code": -32000, "message": "header not found" }, payload={ "id": 3 }, ' +
      "code=UNKNOWN_ERROR, version=6.17.0)";
    expect(redactedText(node)).toBe(node);
    expect(redactedText(`timeout (request={  }, code=TIMEOUT, version=6.17.0)`)).toBe(
      "timeout (code=TIMEOUT, version=6.17.0)",
    );
    expect(redactedErrorMessage(new Error(`chain http://u:${PASSWORD}@h/ down`))).toBe(
      "chain http://***:***@h/ down",
    );
  });
});

describe("ChainView against a node answering HTTP 401", () => {
  let server: Server;
  let rpc: string;
  let down = false;
  const authorizations: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      authorizations.push(String(req.headers.authorization));
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        if (down) {
          res.writeHead(401, { "content-type": "text/plain" }).end("invalid API key");
          return;
        }
        // Just enough of a node for `ChainView.connect`: a chain id and code at the oracle's address.
        const answer = (r: { id: unknown; method: string }) => ({
          jsonrpc: "2.0",
          id: r.id,
          result: r.method === "eth_chainId" ? "0x7a69" : r.method === "eth_getCode" ? "0x6000" : null,
        });
        const request = JSON.parse(body) as
          { id: unknown; method: string } | { id: unknown; method: string }[];
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify(Array.isArray(request) ? request.map(answer) : answer(request)));
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    rpc = `http://rpcuser:${PASSWORD}@127.0.0.1:${(server.address() as AddressInfo).port}/?apikey=${API_KEY}`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  const chainConfig = () =>
    ({ rpc, oracle: "0x5FbDB2315678afecb367f032d93F642f64180aa3" }) as ServiceConfig["chain"];

  it("names the RPC URL redacted when it cannot start, and never its password or API key", async () => {
    down = true;
    const err = (await ChainView.connect(chainConfig()).catch((e: unknown) => e)) as Error & { code: string };
    down = false;
    expect(err.code).toBe("CHAIN_UNREACHABLE");
    const port = new URL(rpc).port;
    expect(err.message).toBe(
      `chain.rpc: cannot reach http://***:***@127.0.0.1:${port}/?apikey=***: server response 401 Unauthorized ` +
        "(error=null, code=SERVER_ERROR, version=6.17.0)",
    );
  });

  it("redacts the errors of the chain's clock and of every read through its provider", async () => {
    const view = await ChainView.connect(chainConfig());
    try {
      // The credentials still reach the node.
      expect(authorizations.at(-1)).toBe(`Basic ${Buffer.from(`rpcuser:${PASSWORD}`).toString("base64")}`);
      down = true;
      const clock = (await view.now().catch((e: unknown) => e)) as Error;
      expect(view.reachable).toBe(false);
      expect(clock.message).toBe(
        "the node did not answer: server response 401 Unauthorized (error=null, code=SERVER_ERROR, version=6.17.0)",
      );
      const read = (await view.provider.getBlockNumber().catch((e: unknown) => e)) as Error & {
        code: string;
        info: { requestUrl: string };
      };
      // Still ethers' error, for callers that classify it.
      expect(read.code).toBe("SERVER_ERROR");
      expect(read.info.requestUrl).toMatch(/^http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+\/\?apikey=\*\*\*$/);
      for (const text of [
        clock.message,
        clock.stack ?? "",
        read.message,
        read.stack ?? "",
        JSON.stringify(read),
      ]) {
        expectNoSecret(text);
      }
    } finally {
      down = false;
      view.destroy();
    }
  });
});
