// Espoir's browser client: one websocket to a proxy, with requests as
// promises, pushes as callbacks, heartbeats, automatic reconnection and,
// when the proxy uses `websocket.encode: 1`, AES-256-GCM through WebCrypto.
// No dependencies; an ES module, for browsers and Node (Node 20 has no
// global WebSocket: pass one, e.g. the `ws` package's, as
// `options.WebSocket`). Documented in docs/clients.md; types are JSDoc,
// checked by `tsc --checkJs` and emitted as declarations (types/).
//
//   import { EspoirClient } from "./espoir-client.js";
//   const client = new EspoirClient("ws://127.0.0.1:30000");
//   client.on(100101, (body) => console.log("settled", body));
//   client.on("open", ({ reconnected, resumed }) => { ... });
//   await client.connect();
//   const me = await client.request(100002, { name: "ann", password: "pw" });
//
// With a protocol's types (espoir-betting.js has the betting app's):
//
//   /** @type {EspoirClient<import("./espoir-betting.js").BettingApi>} */
//   const client = new EspoirClient(url);
//
// Replies are matched to requests by command id, first in first out: the
// proxy answers one session's frames one at a time, in order, so the n-th
// reply with command C answers the n-th request with command C. A frame
// whose command has no request waiting is a push. So a command id must be
// used either for requests or for pushes, never both; and commands whose
// handler never replies (need_return = false) go through send(), not
// request().

import {
  DEFAULT_MAX_FRAME,
  FrameDecoder,
  LinkDialer,
  LinkSecurityError,
  encodeFrame,
  jsonBody,
  parseBody,
} from "./espoir-frame.js";

export { FrameError, LinkSecurityError } from "./espoir-frame.js";

/**
 * A protocol: each request's body and reply by command id, each push's
 * body by push id. `EspoirClient<A>` checks commands and bodies against it.
 * @typedef {object} Api
 * @property {{[command: number]: {request: unknown, reply: unknown}}} requests
 * @property {{[command: number]: unknown}} pushes
 */

/**
 * Any command id, any body: the client without a protocol's types.
 * @typedef {object} AnyApi
 * @property {{[command: number]: {request: any, reply: any}}} requests
 * @property {{[command: number]: any}} pushes
 */

/**
 * The request command ids of `A`.
 * @template {Api} A
 * @typedef {Extract<keyof A["requests"], number>} RequestId
 */

/**
 * The push ids of `A`.
 * @template {Api} A
 * @typedef {Extract<keyof A["pushes"], number>} PushId
 */

/**
 * The request body of command `C`.
 * @template {Api} A
 * @template {RequestId<A>} C
 * @typedef {A["requests"][C]["request"]} RequestBody
 */

/**
 * The reply body of command `C`.
 * @template {Api} A
 * @template {RequestId<A>} C
 * @typedef {A["requests"][C]["reply"]} ReplyBody
 */

/**
 * The body of push `C`.
 * @template {Api} A
 * @template {PushId<A>} C
 * @typedef {A["pushes"][C]} PushBody
 */

/** @typedef {"idle" | "connecting" | "open" | "reconnecting" | "closed"} ClientState */

/**
 * The client's events and what their listeners get.
 * @typedef {object} ClientEvents
 * @property {{reconnected: boolean, resumed: boolean}} open Connected and
 *   usable. After a loss (`reconnected`) the session is the old one when
 *   `resumed` (its missed pushes follow); otherwise it is new: log in again.
 * @property {{code: number, reason: string, willReconnect: boolean}} close
 * @property {{attempt: number, delay: number}} reconnecting A retry in `delay` ms.
 * @property {{state: ClientState}} state
 * @property {{command: number, body: unknown, seq: number}} push Every push;
 *   `seq` is its number once the session uses resume, else 0.
 * @property {{body: unknown}} kicked The proxy kicked the session (then closes).
 * @property {{error: unknown}} error A listener threw, or the link failed.
 */

/**
 * What the client needs of a WebSocket: the browser's, or one with its
 * API (the `ws` package's in Node).
 * @typedef {object} WebSocketLike
 * @property {string} binaryType Set to "arraybuffer".
 * @property {number} readyState 1 when open.
 * @property {(data: Uint8Array) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {((event: any) => void) | null} onopen
 * @property {((event: any) => void) | null} onmessage Gets `{data}`, an
 *   ArrayBuffer or a Uint8Array.
 * @property {((event: any) => void) | null} onclose Gets `{code, reason}`.
 * @property {((event: any) => void) | null} onerror
 */

/** @typedef {new (url: string) => WebSocketLike} WebSocketConstructor */

/**
 * Options of an {@link EspoirClient}; every one has a default.
 * @typedef {object} ClientOptions
 * @property {string | null} [token] `websocket.token`, for `encrypt`.
 * @property {boolean} [encrypt] The proxy has `websocket.encode: 1`. Default false.
 * @property {number} [requestTimeout] ms a request waits for its reply.
 *   Default 15000, longer than the proxy's call timeout (10 s).
 * @property {number} [heartbeatInterval] ms between heartbeats; 0 turns them off. Default 20000.
 * @property {number} [heartbeatCommand] `websocket.heartbeat_command`. Default 10000.
 * @property {boolean} [reconnect] Reconnect after a loss. Default true.
 * @property {number} [minDelay] ms, the first reconnect delay (before jitter). Default 500.
 * @property {number} [maxDelay] ms, the longest reconnect delay. Default 15000.
 * @property {boolean} [resume] Use session resume when the proxy offers it. Default true.
 * @property {number} [maxFrame] The largest frame accepted, bytes. Default 1 MiB.
 * @property {WebSocketConstructor} [WebSocket] Default `globalThis.WebSocket`.
 */

/** @typedef {import("./espoir-frame.js").Frame} Frame */

/** The heartbeat command the proxy answers itself. */
export const HEARTBEAT_COMMAND = 10000;
// The resume protocol of docs/sessions.md: opt in, acknowledge numbered
// pushes, present the token again after a reconnect.
/** Opt in to resume, or take a session back. */
export const RESUME_COMMAND = 10001;
/** Acknowledge pushes up to a number. */
export const ACK_COMMAND = 10002;
/** The frame a kicked session gets before the close. */
export const KICK_COMMAND = 10003;

/** The close code the proxy uses when the same user logged in elsewhere:
 *  reconnecting would only kick the other device in turn. */
const CLOSE_KICKED = 4001;

/** A request that failed: an error reply from the server (`code`, `msg` as
 *  in docs/betting.md), or a local failure (`local` is true): 408 no reply
 *  in time, 503 not connected or the connection was lost. */
export class EspoirError extends Error {
  /**
   * @param {number} code
   * @param {string} msg
   * @param {number} command the request's command id (0 when none)
   * @param {boolean} [local] the failure is the client's, not a reply
   */
  constructor(code, msg, command, local = false) {
    super(msg);
    this.name = "EspoirError";
    this.code = code;
    this.command = command;
    this.local = local;
  }
}

/** @type {Required<Omit<ClientOptions, "WebSocket">> & {WebSocket: WebSocketConstructor | undefined}} */
const DEFAULTS = {
  token: null, // websocket.token, for encrypt
  encrypt: false, // the proxy's websocket.encode is 1
  requestTimeout: 15000, // ms; longer than the proxy's call timeout (10 s)
  heartbeatInterval: 20000, // ms between heartbeats; 0 turns them off
  heartbeatCommand: HEARTBEAT_COMMAND,
  reconnect: true,
  minDelay: 500, // ms, first reconnect delay (before jitter)
  maxDelay: 15000, // ms, longest reconnect delay
  resume: true, // use session resume when the proxy offers it
  maxFrame: DEFAULT_MAX_FRAME,
  WebSocket: globalThis.WebSocket,
};

/**
 * @param {unknown} body
 * @returns {body is {code: number, msg: unknown}}
 */
function isError(body) {
  if (body === null || typeof body !== "object" || !("msg" in body)) return false;
  const code = /** @type {{code?: unknown}} */ (body).code;
  return typeof code === "number" && code !== 200;
}

/** A request waiting for its reply. */
class Waiter {
  /**
   * @param {(body: any) => void} resolve
   * @param {(error: Error) => void} reject
   */
  constructor(resolve, reject) {
    this.resolve = resolve;
    this.reject = reject;
    /** Timed out: its reply, when it comes, is dropped. */
    this.done = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
  }
}

/** One websocket's state; the client makes a new one per connection. */
class Connection {
  /**
   * @param {WebSocketLike} ws
   * @param {number} maxFrame
   */
  constructor(ws, maxFrame) {
    this.ws = ws;
    /** Open (and past the encryption hello): requests may go. */
    this.ready = false;
    /** @type {import("./espoir-frame.js").LinkCipher | null} */
    this.cipher = null;
    /** The hello in progress, on an encrypted link. @type {LinkDialer | null} */
    this.dialer = null;
    this.decoder = new FrameDecoder(maxFrame);
    /** Requests waiting for their reply, by command, oldest first. @type {Map<number, Waiter[]>} */
    this.waiting = new Map();
    /** The chain of writes (sealing is asynchronous, its nonces ordered). @type {Promise<void>} */
    this.out = Promise.resolve();
    /** The chain of frames received, handled in order. @type {Promise<void>} */
    this.in = Promise.resolve();
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.heartbeat = undefined;
    /** Pushes received since the last acknowledgement. */
    this.unacked = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.ackTimer = undefined;
    this.dropped = false;
  }
}

/**
 * A connection to a proxy that survives losses: requests as promises,
 * pushes as callbacks. `A` types the commands and bodies ({@link Api});
 * without it any command and body goes.
 * @template {Api} [A=AnyApi]
 */
export class EspoirClient {
  /**
   * @param {string} url the proxy's websocket, `ws://host:port` or `wss://host:port`
   * @param {ClientOptions} [options]
   */
  constructor(url, options = {}) {
    /** @readonly */
    this.url = url;
    /** @readonly */
    this.options = { ...DEFAULTS, ...options };
    if (this.options.encrypt && !this.options.token) throw new Error("encrypt needs the websocket token");
    if (typeof this.options.WebSocket !== "function") {
      throw new Error("no WebSocket here: pass one as options.WebSocket (in Node 20, the `ws` package's)");
    }
    /** @type {ClientState} */
    this.state = "idle";
    /** @private @type {Map<string | number, Set<(value: any) => void>>} */
    this.listeners = new Map();
    /** @private @type {Connection | null} */
    this.conn = null;
    /** @private */
    this.attempt = 0;
    /** @private */
    this.everOpened = false;
    /**
     * The session to resume, once the proxy offered resume.
     * @private @type {{token: string, last: number} | null}
     */
    this.resume = null;
    /** @private @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
  }

  /**
   * Listens to a client event ({@link ClientEvents}). Returns a function
   * that removes the listener.
   * @template {keyof ClientEvents} K
   * @overload
   * @param {K} key
   * @param {(event: ClientEvents[K]) => void} fn
   * @returns {() => void}
   */
  /**
   * Listens to the pushes of a push id. Returns a function that removes
   * the listener.
   * @template {PushId<A>} C
   * @overload
   * @param {C} key
   * @param {(body: PushBody<A, C>) => void} fn
   * @returns {() => void}
   */
  /**
   * @param {string | number} key
   * @param {(value: any) => void} fn
   * @returns {() => void}
   */
  on(key, fn) {
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(fn);
    return () => void set.delete(fn);
  }

  /**
   * @private
   * @param {string | number} key
   * @param {unknown} value
   */
  emit(key, value) {
    for (const fn of this.listeners.get(key) || []) {
      try {
        fn(value);
      } catch (error) {
        if (key !== "error") this.emit("error", { error });
      }
    }
  }

  /**
   * @private
   * @param {ClientState} state
   */
  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { state });
  }

  /** Opens the connection; resolves once it is usable (after the
   *  encryption hello). Failed attempts are retried with backoff, as later
   *  losses are; it rejects only if the client gives up (close(), a wrong
   *  token, reconnect: false).
   * @returns {Promise<void>}
   */
  connect() {
    if (this.state === "closed") return Promise.reject(new Error("the client was closed"));
    if (this.state === "open") return Promise.resolve();
    return new Promise((resolve, reject) => {
      /** @type {() => void} */
      const offOpen = this.on("open", () => {
        offOpen();
        offClose();
        resolve();
      });
      const offClose = this.on("close", ({ code, reason, willReconnect }) => {
        if (this.everOpened || willReconnect) return;
        offOpen();
        offClose();
        reject(new EspoirError(503, `cannot connect (${code} ${reason})`, 0, true));
      });
      if (!this.conn) this.dial();
    });
  }

  /** Closes for good: no reconnection; pending requests fail with 503. */
  close() {
    clearTimeout(this.timer);
    const conn = this.conn;
    this.conn = null;
    this.setState("closed");
    if (conn) {
      this.drop(conn, 1000, "closed by the client", false);
      conn.ws.close(1000);
    }
  }

  /**
   * Sends a request; resolves with the reply body, rejects with an
   * {@link EspoirError} for an error reply, a timeout or a lost connection.
   * @template {RequestId<A>} C
   * @param {C} command
   * @param {RequestBody<A, C>} [body] `undefined` sends `{}`
   * @param {{timeout?: number}} [options] `timeout` in ms (default `requestTimeout`)
   * @returns {Promise<ReplyBody<A, C>>}
   */
  request(command, body, { timeout = this.options.requestTimeout } = {}) {
    const conn = this.conn;
    if (!conn || !conn.ready) {
      return Promise.reject(new EspoirError(503, "not connected", command, true));
    }
    return this.requestOn(conn, command, body, timeout);
  }

  /**
   * @private
   * @param {Connection} conn
   * @param {number} command
   * @param {unknown} body
   * @param {number} timeout
   * @returns {Promise<any>}
   */
  requestOn(conn, command, body, timeout) {
    return new Promise((resolve, reject) => {
      const waiter = new Waiter(resolve, reject);
      let queue = conn.waiting.get(command);
      if (!queue) conn.waiting.set(command, (queue = []));
      queue.push(waiter);
      waiter.timer = setTimeout(() => {
        // The slot stays queued: the late reply still arrives (the proxy
        // answers every request) and must not be taken for the next one's.
        waiter.done = true;
        reject(new EspoirError(408, `no reply to command ${command} within ${timeout} ms`, command, true));
      }, timeout);
      this.write(conn, command, 0, body);
    });
  }

  /**
   * Sends a frame that gets no reply (`need_return = false` handlers).
   * @param {number} command
   * @param {unknown} [body] `undefined` sends `{}`
   * @throws {EspoirError} 503 when not connected
   */
  send(command, body) {
    const conn = this.conn;
    if (!conn || !conn.ready) throw new EspoirError(503, "not connected", command, true);
    this.write(conn, command, 0, body);
  }

  /**
   * @private
   * @param {Connection} conn
   * @param {number} command
   * @param {number} version
   * @param {unknown} body
   */
  write(conn, command, version, body) {
    const bytes = jsonBody(body);
    // Sealing is asynchronous but must follow frame order (its nonce is a
    // counter), so every write joins one chain per connection.
    conn.out = conn.out.then(async () => {
      if (conn.ws.readyState !== 1) return;
      const frame = conn.cipher ? await conn.cipher.seal(command, version, bytes) : encodeFrame(command, version, bytes);
      conn.ws.send(frame);
    });
    conn.out.catch((error) => this.fail(conn, error));
  }

  /** @private */
  dial() {
    const WebSocket = /** @type {WebSocketConstructor} */ (this.options.WebSocket);
    this.setState(this.everOpened ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    const conn = new Connection(ws, this.options.maxFrame);
    this.conn = conn;
    ws.onopen = () => this.opened(conn).catch((error) => this.fail(conn, error));
    ws.onmessage = (/** @type {{data: ArrayBuffer | Uint8Array}} */ event) => {
      let frames;
      try {
        frames = conn.decoder.feed(event.data);
      } catch (error) {
        return this.fail(conn, error);
      }
      // Opening is asynchronous too; one chain keeps frames in order.
      for (const frame of frames) {
        conn.in = conn.in.then(() => this.incoming(conn, frame));
      }
      conn.in = conn.in.catch((error) => this.fail(conn, error));
    };
    ws.onclose = (/** @type {{code: number, reason: string}} */ event) => this.closed(conn, event.code, event.reason);
    ws.onerror = () => {}; // onclose follows with the details browsers allow
  }

  /**
   * @private
   * @param {Connection} conn
   */
  async opened(conn) {
    if (this.options.encrypt) {
      conn.dialer = new LinkDialer(/** @type {string} */ (this.options.token)); // checked in the constructor
      conn.ws.send(conn.dialer.hello());
      return; // continues when the proxy's hello arrives
    }
    await this.established(conn);
  }

  /**
   * @private
   * @param {Connection} conn
   */
  async established(conn) {
    conn.ready = true;
    const reconnected = this.everOpened;
    let resumed = false;
    if (this.options.resume) resumed = await this.negotiateResume(conn);
    if (this.conn !== conn) return;
    this.everOpened = true;
    this.attempt = 0;
    this.startHeartbeat(conn);
    this.setState("open");
    this.emit("open", { reconnected, resumed });
  }

  /**
   * Resumes the old session if there is one, else opts in when the proxy
   * offers resume. A proxy without it answers with an error: no resume.
   * A local failure (the link died, no answer in time) is thrown, keeping
   * the token for the next connection.
   * @private
   * @param {Connection} conn
   * @returns {Promise<boolean>} whether the old session is back
   */
  async negotiateResume(conn) {
    const previous = this.resume;
    const ask = (/** @type {object} */ body) => this.requestOn(conn, RESUME_COMMAND, body, this.options.requestTimeout);
    if (previous) {
      try {
        const reply = await ask({ token: previous.token, last: previous.last });
        // The token may change; the push numbers go on (a replayed push
        // may have moved `last` already).
        this.resume = { token: tokenOf(reply) || previous.token, last: previous.last };
        return true;
      } catch (error) {
        if (error instanceof EspoirError && error.local) throw error;
        this.resume = null; // refused (expired, too much missed): a new session
      }
    }
    try {
      const token = tokenOf(await ask({}));
      this.resume = token ? { token, last: 0 } : null;
    } catch (error) {
      if (error instanceof EspoirError && error.local) throw error;
      this.resume = null;
    }
    return false;
  }

  /**
   * @private
   * @param {Connection} conn
   * @param {Frame} frame
   */
  async incoming(conn, frame) {
    if (this.conn !== conn) return;
    if (conn.dialer) {
      const dialer = conn.dialer;
      conn.dialer = null;
      conn.cipher = await dialer.finish(frame);
      // Not awaited: establishing waits for replies, which arrive through
      // this very chain.
      this.established(conn).catch((error) => this.fail(conn, error));
      return;
    }
    if (conn.cipher) frame = await conn.cipher.open(frame);
    const body = parseBody(frame.body);
    const queue = conn.waiting.get(frame.command);
    const waiter = queue && frame.version === 0 ? queue.shift() : undefined;
    if (waiter) {
      clearTimeout(waiter.timer);
      if (waiter.done) return;
      if (isError(body)) waiter.reject(new EspoirError(body.code, String(body.msg), frame.command));
      else waiter.resolve(body);
      return;
    }
    this.push(conn, frame, body);
  }

  /**
   * @private
   * @param {Connection} conn
   * @param {Frame} frame
   * @param {unknown} body
   */
  push(conn, frame, body) {
    // With resume on, pushes are numbered in the header's version field;
    // a replay after a resume may repeat some.
    if (frame.version > 0 && this.resume) {
      if (frame.version <= this.resume.last) return;
      this.resume.last = frame.version;
      this.scheduleAck(conn);
    }
    if (frame.command === KICK_COMMAND) this.emit("kicked", { body });
    this.emit("push", { command: frame.command, body, seq: frame.version });
    this.emit(frame.command, body);
  }

  /**
   * @private
   * @param {Connection} conn
   */
  scheduleAck(conn) {
    conn.unacked += 1;
    const ack = () => {
      clearTimeout(conn.ackTimer);
      conn.ackTimer = undefined;
      conn.unacked = 0;
      if (this.conn === conn && conn.ready && this.resume) this.write(conn, ACK_COMMAND, 0, { seq: this.resume.last });
    };
    if (conn.unacked >= 10) ack();
    else if (!conn.ackTimer) conn.ackTimer = setTimeout(ack, 1000);
  }

  /**
   * @private
   * @param {Connection} conn
   */
  startHeartbeat(conn) {
    const every = this.options.heartbeatInterval;
    if (!every) return;
    conn.heartbeat = setInterval(() => {
      this.requestOn(conn, this.options.heartbeatCommand, {}, Math.max(every, 5000)).catch((error) => {
        // No answer in time: the link is dead even if TCP has not noticed.
        if (error.code === 408) this.fail(conn, new EspoirError(408, "heartbeat unanswered", 0, true));
      });
    }, every);
  }

  /**
   * @private
   * @param {Connection} conn
   * @param {unknown} error
   */
  fail(conn, error) {
    if (this.conn !== conn) return;
    this.emit("error", { error });
    const fatal = error instanceof LinkSecurityError;
    this.drop(conn, 4000, error instanceof Error ? error.message : String(error), !fatal && this.options.reconnect);
    // Browsers only let scripts close with 1000 or 3000-4999.
    conn.ws.close(4000, "client gave up on the link");
    if (fatal) this.setState("closed");
  }

  /**
   * @private
   * @param {Connection} conn
   * @param {number} code
   * @param {string} reason
   */
  closed(conn, code, reason) {
    if (this.conn !== conn) return;
    const willReconnect = this.options.reconnect && code !== CLOSE_KICKED && this.state !== "closed";
    this.drop(conn, code, reason, willReconnect);
  }

  /**
   * Ends a connection: fails its requests, says so, maybe reconnects.
   * @private
   * @param {Connection} conn
   * @param {number} code
   * @param {string} reason
   * @param {boolean} willReconnect
   */
  drop(conn, code, reason, willReconnect) {
    if (conn.dropped) return;
    conn.dropped = true;
    conn.ready = false;
    clearInterval(conn.heartbeat);
    clearTimeout(conn.ackTimer);
    for (const queue of conn.waiting.values()) {
      for (const waiter of queue) {
        clearTimeout(waiter.timer);
        if (!waiter.done) waiter.reject(new EspoirError(503, "connection lost before the reply", 0, true));
      }
    }
    conn.waiting.clear();
    if (this.conn === conn) this.conn = null;
    this.emit("close", { code, reason, willReconnect });
    if (!willReconnect) {
      if (this.state !== "closed") this.setState("closed");
      return;
    }
    // Exponential backoff with jitter: half the delay is fixed, half random,
    // so thousands of clients dropped together do not return together.
    const base = Math.min(this.options.maxDelay, this.options.minDelay * 2 ** this.attempt);
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    this.attempt += 1;
    this.setState("reconnecting");
    this.emit("reconnecting", { attempt: this.attempt, delay });
    this.timer = setTimeout(() => {
      if (this.state === "reconnecting") this.dial();
    }, delay);
  }
}

/**
 * The token of a resume reply, if it has one.
 * @param {unknown} reply
 * @returns {string | null}
 */
function tokenOf(reply) {
  const token = reply !== null && typeof reply === "object" ? /** @type {{token?: unknown}} */ (reply).token : null;
  return typeof token === "string" ? token : null;
}
