/**
 * What an API made by createJsonApi does with connections and with requests fastify or Node.js refuse
 * themselves, on real sockets on 127.0.0.1 with small limits: slow clients are answered 408 and closed, a
 * connection over the cap is closed at once, closing does not wait for idle or slow clients (only, and at most
 * `closeDrainMs`, for the requests being answered), a host or port it cannot listen on is a ConfigError naming
 * `listen.host` or `listen.port`, and malformed URLs and bodies get the project's error shape, quoting at most
 * a short preview of what was sent.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../core/errors";
import {
  checkListenAddress,
  createJsonApi,
  listenJsonApi,
  replyWithError,
  type HttpLimits,
} from "../../core/json-api";
import type { FastifyError, FastifyInstance } from "fastify";

const silent = pino({ level: "silent" });

/** Limits for these tests: timeouts long enough never to fire unless a test means them to. */
const LIMITS: Partial<HttpLimits> = {
  headersTimeoutMs: 60_000,
  requestTimeoutMs: 120_000,
  timeoutCheckMs: 50,
  closeDrainMs: 5_000,
};

const apps: FastifyInstance[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** An API with a quick route, a route answering after `slowMs`, one that never answers, and a POST. */
async function startApi(
  limits: Partial<HttpLimits> = {},
  slowMs = 300,
): Promise<{ app: FastifyInstance; port: number; reached: { slow: Promise<void>; never: Promise<void> } }> {
  const app = createJsonApi({ log: silent, limits: { ...LIMITS, ...limits } });
  apps.push(app);
  // As each API does: its own refusals first, then the shared answer.
  app.setErrorHandler((err: FastifyError, req, reply) => replyWithError(err, req, reply));
  // When a request reached /slow and /never: a test closes the API once its request is in flight, not after a
  // pause that a loaded machine may outlast.
  let slowReached!: () => void;
  let neverReached!: () => void;
  const reached = {
    slow: new Promise<void>((done) => (slowReached = done)),
    never: new Promise<void>((done) => (neverReached = done)),
  };
  app.get("/health", async () => ({ status: "ok" }));
  app.get("/slow", async () => {
    slowReached();
    await new Promise((done) => setTimeout(done, slowMs));
    return { status: "late" };
  });
  app.get("/never", () => {
    neverReached();
    return new Promise(() => undefined);
  });
  app.get<{ Params: { id: string } }>(
    "/v1/things/:id",
    { schema: { params: { type: "object", properties: { id: { type: "string", maxLength: 8 } } } } },
    async (req) => ({ id: req.params.id }),
  );
  app.post("/v1/things", async (req) => ({ got: req.body }));
  await app.listen({ host: "127.0.0.1", port: 0 });
  return { app, port: (app.server.address() as { port: number }).port, reached };
}

/** A raw connection to `port`, its received text, and when it closed. */
function rawClient(port: number): { socket: Socket; text: () => string; closed: Promise<void> } {
  const socket = connect(port, "127.0.0.1");
  sockets.push(socket);
  let text = "";
  socket.on("data", (d: Buffer) => (text += d.toString()));
  socket.on("error", () => undefined);
  const closed = new Promise<void>((done) => socket.once("close", () => done()));
  return { socket, text: () => text, closed };
}

/** `p`, or "pending" if it has not settled within `ms` (a hang fails fast, and says so). */
function within<T>(p: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([p, new Promise<"pending">((done) => setTimeout(() => done("pending"), ms).unref())]);
}

describe("createJsonApi: connections", () => {
  it("answers a client too slow with its headers 408 REQUEST_TIMEOUT and closes it", async () => {
    const { port } = await startApi({ headersTimeoutMs: 300, requestTimeoutMs: 1_000 });
    const slow = rawClient(port);
    slow.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
    // Before: Node's own 60 s (checked every 30 s); here 0.3 s, checked every 50 ms.
    expect(await within(slow.closed, 3_000)).toBeUndefined();
    expect(slow.text()).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(slow.text().split("\r\n\r\n")[1])).toEqual({
      error: "REQUEST_TIMEOUT",
      message: "the request was not received in time",
    });
  });

  it("closes a connection over the cap at once, and takes new ones once below it", async () => {
    const { port } = await startApi({ maxConnections: 2 });
    const held = [rawClient(port), rawClient(port)];
    await Promise.all(held.map((c) => new Promise((done) => c.socket.once("connect", done))));
    const over = rawClient(port);
    over.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(await within(over.closed, 3_000)).toBeUndefined();
    expect(over.text()).toBe("");
    held[0].socket.destroy();
    await held[0].closed;
    // The server sees the close a moment after the client: until then, a new connection is still refused.
    for (let i = 0; i < 100; i++) {
      const client = rawClient(port);
      client.socket.write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      await client.closed;
      if (client.text() !== "") {
        expect(client.text()).toMatch(/^HTTP\/1\.1 200 /);
        return;
      }
      await new Promise((done) => setTimeout(done, 20));
    }
    throw new Error("no connection was taken after one closed");
  });

  it("close: answers the request in flight, and closes idle and slow clients without waiting for them", async () => {
    const { app, port, reached } = await startApi({}, 300);
    const slow = rawClient(port);
    slow.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
    const idle = rawClient(port);
    idle.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise<void>((done) => idle.socket.once("data", () => done()));
    const inFlight = fetch(`http://127.0.0.1:${port}/slow`);
    await reached.slow;
    // Before: close waited for the slow client until it stopped (its headers timeout no longer checked).
    expect(await within(app.close(), 3_000)).toBeUndefined();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ status: "late" });
    expect(await within(Promise.all([slow.closed, idle.closed]), 1_000)).not.toBe("pending");
  });

  it("close: a request still unanswered after closeDrainMs is cut off", async () => {
    const { app, port, reached } = await startApi({ closeDrainMs: 200 });
    const hanging = rawClient(port);
    hanging.socket.write("GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
    await reached.never;
    expect(await within(app.close(), 3_000)).toBeUndefined();
    expect(await within(hanging.closed, 1_000)).toBeUndefined();
  });
});

describe("listenJsonApi and checkListenAddress", () => {
  const file = "/etc/zkrisk/api.json";
  let taken: Server | undefined;
  afterEach(() => taken?.close());

  it("refuse a host that does not resolve or is not this machine's, and a port in use, naming the field", async () => {
    taken = createServer().listen(0, "127.0.0.1");
    await new Promise((done) => taken!.once("listening", done));
    const port = (taken.address() as { port: number }).port;
    const cases: [{ host: string; port: number }, string][] = [
      [
        { host: "not a host", port: 0 },
        `${file}: listen.host: "not a host" does not resolve to an address (`,
      ],
      [{ host: "192.0.2.1", port: 0 }, `${file}: listen.host: "192.0.2.1" is not an address of this machine`],
      [{ host: "127.0.0.1", port }, `${file}: listen.port: ${port} is in use on 127.0.0.1 (EADDRINUSE)`],
    ];
    for (const [listen, message] of cases) {
      const app = createJsonApi({ log: silent });
      apps.push(app);
      const err = await listenJsonApi(app, { file, listen }).catch((e: unknown) => e);
      expect(err, JSON.stringify(listen)).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(message);
      const checked = await checkListenAddress({ file, listen }, { port: true }).catch((e: unknown) => e);
      expect((checked as Error).message).toContain(message);
    }
    // Without the port (as --check does: a running instance may hold it), only the host is checked.
    await checkListenAddress({ file, listen: { host: "127.0.0.1", port } }, { port: false });
    const app = createJsonApi({ log: silent });
    apps.push(app);
    expect(await listenJsonApi(app, { file, listen: { host: "127.0.0.1", port: 0 } })).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+$/,
    );
  });
});

describe("createJsonApi: what fastify refuses itself answers { error, message }", () => {
  /** The status and body of a raw request line (URLs fetch would normalise or refuse). */
  async function raw(port: number, request: string): Promise<{ status: number; body: unknown }> {
    const c = rawClient(port);
    c.socket.write(request);
    await c.closed;
    const [head, body] = c.text().split("\r\n\r\n");
    return { status: Number(head.split(" ")[1]), body: JSON.parse(body) };
  }

  it("a URL that does not decode, a path parameter too long, an unknown route: bounded, no FST_ codes", async () => {
    const { port } = await startApi();
    const long = "A".repeat(5_000);
    const get = (path: string) => raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(await get("/v1/things/%ZZ")).toEqual({
      status: 400,
      body: { error: "BAD_REQUEST", message: 'path "/v1/things/%ZZ" is not a valid URL (bad %-encoding)' },
    });
    const tooLong = await get(`/v1/things/${long}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({ error: "BAD_REQUEST" });
    expect((tooLong.body as { message: string }).message).toMatch(
      /^path "\/v1\/things\/A+"\.\.\. \(5011 characters\): a path parameter is longer than 100 characters$/,
    );
    const unknown = await get(`/nowhere/${long}`);
    expect(unknown.status).toBe(404);
    expect((unknown.body as { message: string }).message.length).toBeLessThan(200);
    // The schema's own limit, below the router's, is a validation failure.
    expect(await get(`/v1/things/${"A".repeat(20)}`)).toMatchObject({
      status: 400,
      body: { error: "BAD_REQUEST" },
    });
  });

  it("bodies: not JSON, __proto__ or constructor.prototype, empty, another media type", async () => {
    const { app } = await startApi();
    const post = async (payload: string, type = "application/json") => {
      const r = await app.inject({
        method: "POST",
        url: "/v1/things",
        headers: { "content-type": type },
        payload,
      });
      return { status: r.statusCode, body: r.json() as { error: string; message: string } };
    };
    expect(await post('{"a": 1,}')).toEqual({
      status: 400,
      body: { error: "BAD_REQUEST", message: expect.stringMatching(/^body: not valid JSON/) as string },
    });
    expect(await post('{"a": 1, "__proto__": {"admin": true}}')).toEqual({
      status: 400,
      body: {
        error: "BAD_REQUEST",
        message: `body: key "__proto__" is not accepted (it could set an object's prototype)`,
      },
    });
    expect((await post('{"a": [{"constructor": {"prototype": {}}}]}')).body.message).toBe(
      `body/a/0/constructor: key "prototype" is not accepted (it could set an object's prototype)`,
    );
    expect(await post("")).toMatchObject({ status: 400, body: { error: "BAD_REQUEST" } });
    const media = await post("<a/>", `application/xml; ${"x".repeat(1_000)}`);
    expect(media.status).toBe(415);
    expect(media.body.error).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(media.body.message.length).toBeLessThan(200);
    // A body that is fine still reaches the route.
    expect(await post('{"a": {"constructor": 1}}')).toEqual({
      status: 200,
      body: { got: { a: { constructor: 1 } } } as never,
    });
  });
});
