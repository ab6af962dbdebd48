// Espoir's browser client: one websocket to a proxy, with requests as
// promises, pushes as callbacks, heartbeats, automatic reconnection and,
// when the proxy uses `websocket.encode: 1`, AES-256-GCM through WebCrypto.
// No dependencies; an ES module. Documented in docs/clients.md.
//
//   import { EspoirClient } from "./espoir-client.js";
//   const client = new EspoirClient("ws://127.0.0.1:30000");
//   client.on(100101, (body) => console.log("settled", body));
//   client.on("open", ({ reconnected, resumed }) => { ... });
//   await client.connect();
//   const me = await client.request(100002, { name: "ann", password: "pw" });
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

export { LinkSecurityError } from "./espoir-frame.js";

export const HEARTBEAT_COMMAND = 10000;
// The resume protocol of docs/sessions.md: opt in, acknowledge numbered
// pushes, present the token again after a reconnect.
export const RESUME_COMMAND = 10001;
export const ACK_COMMAND = 10002;
export const KICK_COMMAND = 10003;

/** The close code the proxy uses when the same user logged in elsewhere:
 *  reconnecting would only kick the other device in turn. */
const CLOSE_KICKED = 4001;

/** A request that failed: an error reply from the server (`code`, `msg` as
 *  in docs/betting.md), or a local failure (`local` is true): 408 no reply
 *  in time, 503 not connected or the connection was lost. */
export class EspoirError extends Error {
  constructor(code, msg, command, local = false) {
    super(msg);
    this.name = "EspoirError";
    this.code = code;
    this.command = command;
    this.local = local;
  }
}

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

function isError(body) {
  return body !== null && typeof body === "object" && typeof body.code === "number" && body.code !== 200 && "msg" in body;
}

export class EspoirClient {
  constructor(url, options = {}) {
    this.url = url;
    this.options = { ...DEFAULTS, ...options };
    if (this.options.encrypt && !this.options.token) throw new Error("encrypt needs the websocket token");
    /** idle | connecting | open | reconnecting | closed */
    this.state = "idle";
    this.listeners = new Map();
    this.conn = null;
    this.attempt = 0;
    this.everOpened = false;
    this.resume = null; // { token, last } once the proxy offered resume
    this.timer = null;
  }

  /** Listens to pushes of a command id (number), or to a client event
   *  (string): "open" {reconnected, resumed}, "close" {code, reason,
   *  willReconnect}, "reconnecting" {attempt, delay}, "state" {state},
   *  "push" {command, body, seq}, "kicked" {body}, "error" {error}.
   *  Returns a function that removes the listener. */
  on(key, fn) {
    if (!this.listeners.has(key)) this.listeners.set(key, new Set());
    this.listeners.get(key).add(fn);
    return () => this.listeners.get(key).delete(fn);
  }

  emit(key, value) {
    for (const fn of this.listeners.get(key) || []) {
      try {
        fn(value);
      } catch (error) {
        if (key !== "error") this.emit("error", { error });
      }
    }
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { state });
  }

  /** Opens the connection; resolves once it is usable (after the
   *  encryption hello). Failed attempts are retried with backoff, as later
   *  losses are; it rejects only if the client gives up (close(), a wrong
   *  token, reconnect: false). */
  connect() {
    if (this.state === "closed") return Promise.reject(new Error("the client was closed"));
    if (this.state === "open") return Promise.resolve();
    return new Promise((resolve, reject) => {
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

  /** Sends a request; resolves with the reply body, rejects with an
   *  EspoirError for an error reply, a timeout or a lost connection. */
  request(command, body = {}, { timeout = this.options.requestTimeout } = {}) {
    const conn = this.conn;
    if (!conn || !conn.ready) {
      return Promise.reject(new EspoirError(503, "not connected", command, true));
    }
    return this.requestOn(conn, command, body, timeout);
  }

  requestOn(conn, command, body, timeout) {
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, done: false };
      if (!conn.waiting.has(command)) conn.waiting.set(command, []);
      conn.waiting.get(command).push(waiter);
      waiter.timer = setTimeout(() => {
        // The slot stays queued: the late reply still arrives (the proxy
        // answers every request) and must not be taken for the next one's.
        waiter.done = true;
        reject(new EspoirError(408, `no reply to command ${command} within ${timeout} ms`, command, true));
      }, timeout);
      this.write(conn, command, 0, body);
    });
  }

  /** Sends a frame that gets no reply (need_return = false handlers). */
  send(command, body = {}) {
    const conn = this.conn;
    if (!conn || !conn.ready) throw new EspoirError(503, "not connected", command, true);
    this.write(conn, command, 0, body);
  }

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

  dial() {
    const { WebSocket } = this.options;
    this.setState(this.everOpened ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    const conn = {
      ws,
      ready: false,
      cipher: null,
      dialer: null,
      decoder: new FrameDecoder(this.options.maxFrame),
      waiting: new Map(),
      out: Promise.resolve(),
      in: Promise.resolve(),
      heartbeat: null,
      unacked: 0,
      ackTimer: null,
    };
    this.conn = conn;
    ws.onopen = () => this.opened(conn).catch((error) => this.fail(conn, error));
    ws.onmessage = (event) => {
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
    ws.onclose = (event) => this.closed(conn, event.code, event.reason);
    ws.onerror = () => {}; // onclose follows with the details browsers allow
  }

  async opened(conn) {
    if (this.options.encrypt) {
      conn.dialer = new LinkDialer(this.options.token);
      conn.ws.send(conn.dialer.hello());
      return; // continues when the proxy's hello arrives
    }
    await this.established(conn);
  }

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

  /** Resumes the old session if there is one, else opts in when the proxy
   *  offers resume. A proxy without it answers with an error: no resume. */
  async negotiateResume(conn) {
    const previous = this.resume;
    if (previous) {
      try {
        const reply = await this.requestOn(conn, RESUME_COMMAND, previous, this.options.requestTimeout);
        this.resume = { token: reply.token, last: previous.last };
        return true;
      } catch {
        this.resume = null; // refused (expired, too much missed): a new session
      }
    }
    try {
      const reply = await this.requestOn(conn, RESUME_COMMAND, {}, this.options.requestTimeout);
      if (reply && typeof reply.token === "string") this.resume = { token: reply.token, last: 0 };
    } catch {
      this.resume = null;
    }
    return false;
  }

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
    if (queue && queue.length && frame.version === 0) {
      const waiter = queue.shift();
      clearTimeout(waiter.timer);
      if (waiter.done) return;
      if (isError(body)) waiter.reject(new EspoirError(body.code, body.msg, frame.command));
      else waiter.resolve(body);
      return;
    }
    this.push(conn, frame, body);
  }

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

  scheduleAck(conn) {
    conn.unacked += 1;
    const ack = () => {
      clearTimeout(conn.ackTimer);
      conn.ackTimer = null;
      conn.unacked = 0;
      if (this.conn === conn && conn.ready && this.resume) this.write(conn, ACK_COMMAND, 0, { seq: this.resume.last });
    };
    if (conn.unacked >= 10) ack();
    else if (!conn.ackTimer) conn.ackTimer = setTimeout(ack, 1000);
  }

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

  fail(conn, error) {
    if (this.conn !== conn) return;
    this.emit("error", { error });
    const fatal = error instanceof LinkSecurityError;
    this.drop(conn, 4000, String(error.message || error), !fatal && this.options.reconnect);
    // Browsers only let scripts close with 1000 or 3000-4999.
    conn.ws.close(4000, "client gave up on the link");
    if (fatal) this.setState("closed");
  }

  closed(conn, code, reason) {
    if (this.conn !== conn) return;
    const willReconnect = this.options.reconnect && code !== CLOSE_KICKED && this.state !== "closed";
    this.drop(conn, code, reason, willReconnect);
  }

  /** Ends a connection: fails its requests, says so, maybe reconnects. */
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
