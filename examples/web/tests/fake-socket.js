// A scripted stand-in for a proxy's websocket, injected as the client's
// `options.WebSocket`: the test plays the proxy frame by frame (accept,
// answer, push, cut the connection) and reads what the client sent. No
// network and no timing: every step waits for the event it needs.

import { FrameDecoder, encodeFrame, jsonBody, parseBody } from "../espoir-frame.js";

/** Resolves when `check()` holds, re-checked whenever `signal` fires. */
class Waitable {
  constructor() {
    this.waiters = [];
  }
  signal() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
  /** @template T @param {() => T | undefined} take */
  until(take) {
    return new Promise((resolve) => {
      const attempt = () => {
        const value = take();
        if (value === undefined) this.waiters.push(attempt);
        else resolve(value);
      };
      attempt();
    });
  }
}

/** Every socket the client opens, in order. */
export class FakeNet {
  constructor() {
    this.sockets = [];
    this.changed = new Waitable();
    const net = this;
    this.WebSocket = class FakeSocket {
      constructor(url) {
        this.url = url;
        this.readyState = 0;
        this.binaryType = "blob";
        this.onopen = this.onmessage = this.onclose = this.onerror = null;
        this.decoder = new FrameDecoder();
        /** Frames the client sent and the test has not taken yet. */
        this.unread = [];
        /** Every frame the client sent. */
        this.sent = [];
        this.changed = new Waitable();
        net.sockets.push(this);
        net.changed.signal();
      }

      // The client's side.
      send(bytes) {
        if (this.readyState !== 1) throw new Error("send on a socket that is not open");
        for (const f of this.decoder.feed(bytes)) {
          const frame = { command: f.command, version: f.version, body: parseBody(f.body) };
          this.sent.push(frame);
          this.unread.push(frame);
        }
        this.changed.signal();
      }
      close(code = 1000, reason = "") {
        if (this.readyState === 3) return;
        this.closedBy = { code, reason };
        this.end(code, reason);
      }

      // The proxy's side, driven by the test.
      accept() {
        this.readyState = 1;
        this.onopen?.({});
      }
      /** Sends a frame to the client (a push when `version` > 0). */
      frame(command, body, version = 0) {
        this.onmessage?.({ data: encodeFrame(command, version, jsonBody(body)).buffer });
      }
      /** The connection vanishes (no close handshake: code 1006). */
      cut() {
        this.end(1006, "");
      }
      end(code, reason) {
        this.readyState = 3;
        // Browsers report the close later, never from within close().
        queueMicrotask(() => this.onclose?.({ code, reason }));
      }
      /** The next frame with `command` the client sent (others stay unread). */
      next(command) {
        return this.changed.until(() => {
          const at = this.unread.findIndex((f) => f.command === command);
          return at < 0 ? undefined : this.unread.splice(at, 1)[0];
        });
      }
    };
  }

  /** The `n`-th socket the client opened (0 first), once it exists. */
  socket(n) {
    return this.changed.until(() => this.sockets[n]);
  }
}

/** Records a client's listener calls; `until(n)` waits for the n-th. */
export class Recorder {
  constructor() {
    this.seen = [];
    this.changed = new Waitable();
    this.add = (value) => {
      this.seen.push(value);
      this.changed.signal();
    };
  }
  until(n) {
    return this.changed.until(() => (this.seen.length >= n ? this.seen.slice(0, n) : undefined));
  }
}
