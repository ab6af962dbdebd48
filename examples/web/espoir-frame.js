// Espoir client framing and link encryption, without sockets.
//
// Frames are obespoir's: a 12-byte little-endian header (length including
// the header, command id, version), then the body (UTF-8 JSON).
//
//   0               4               8              12
//   +---------------+---------------+---------------+-------------------+
//   | length (i32)  | command (i32) | version (i32) | body (length-12)  |
//   +---------------+---------------+---------------+-------------------+
//
// With `websocket.encode: 1` the link is encrypted (docs/clients.md,
// docs/wire-protocol.md): a hello exchange derives two AES-256-GCM keys
// from the websocket token and two fresh nonces (HKDF-SHA256); every later
// body is sealed, its header in clear and authenticated.
//
// Types are JSDoc, checked by `tsc --checkJs` (examples/web/tsconfig.json),
// which also emits the package's declarations (types/*.d.ts).

/**
 * One decoded frame: the header's command id and version field, and the
 * body's bytes.
 * @typedef {object} Frame
 * @property {number} command The command id (obespoir's `command_id`).
 * @property {number} version The header's version field: a push's number
 *   once the session uses resume, else 0.
 * @property {Uint8Array} body The body (UTF-8 JSON, or sealed).
 */

/** Bytes in a frame's header. */
export const HEADER_LEN = 12;
/** The command of the encryption hello (both ways). */
export const HELLO_COMMAND = 10004;
/** The largest frame the decoder accepts unless told otherwise (1 MiB). */
export const DEFAULT_MAX_FRAME = 1024 * 1024;

const TAG_LEN = 16;
const NONCE_LEN = 32;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * Encodes one frame.
 * @param {number} command
 * @param {number} version
 * @param {Uint8Array} body
 * @returns {Uint8Array}
 */
export function encodeFrame(command, version, body) {
  const out = new Uint8Array(HEADER_LEN + body.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, out.length, true);
  view.setInt32(4, command, true);
  view.setInt32(8, version, true);
  out.set(body, HEADER_LEN);
  return out;
}

/**
 * A JSON value as a frame body (`undefined` sends `{}`).
 * @param {unknown} value
 * @returns {Uint8Array}
 */
export function jsonBody(value) {
  return utf8.encode(JSON.stringify(value === undefined ? {} : value));
}

/**
 * A frame body as JSON; a body that is not JSON comes back as text
 * (obespoir sends string data verbatim), an empty one as null.
 * @param {Uint8Array} bytes
 * @returns {unknown}
 */
export function parseBody(bytes) {
  if (bytes.length === 0) return null;
  const text = fromUtf8.decode(bytes);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A frame that cannot be valid: the stream is out of sync. */
export class FrameError extends Error {}

/** Reassembles frames from websocket messages. The server sends one frame
 *  per message, but the decoder accepts any split and never buffers more
 *  than one frame of at most `maxFrame` bytes. */
export class FrameDecoder {
  /** @param {number} [maxFrame] the largest frame accepted, in bytes */
  constructor(maxFrame = DEFAULT_MAX_FRAME) {
    /** @readonly */
    this.maxFrame = maxFrame;
    /** @private @type {Uint8Array} */
    this.buffer = new Uint8Array(0);
  }

  /**
   * Appends a message; returns the frames it completes, in order.
   * @param {ArrayBuffer | Uint8Array} message
   * @returns {Frame[]}
   * @throws {FrameError} when a frame's length cannot be valid
   */
  feed(message) {
    const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
    let buf = this.buffer.length ? concat(this.buffer, bytes) : bytes;
    /** @type {Frame[]} */
    const frames = [];
    while (buf.length >= HEADER_LEN) {
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const length = view.getInt32(0, true);
      if (length < HEADER_LEN) throw new FrameError(`frame length ${length} is shorter than the header`);
      if (length > this.maxFrame) throw new FrameError(`frame length ${length} exceeds ${this.maxFrame}`);
      if (buf.length < length) break;
      frames.push({
        command: view.getInt32(4, true),
        version: view.getInt32(8, true),
        body: buf.slice(HEADER_LEN, length),
      });
      buf = buf.subarray(length);
    }
    this.buffer = buf.slice();
    return frames;
  }
}

/**
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 */
function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * Lowercase hex.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Bytes from hex; null unless `text` is an even-length hex string.
 * @param {unknown} text
 * @returns {Uint8Array | null}
 */
export function fromHex(text) {
  if (typeof text !== "string" || text.length % 2 !== 0 || /[^0-9a-f]/i.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The link's keys are wrong, or the peer tampered with a frame. */
export class LinkSecurityError extends Error {}

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) {
    // Browsers only expose WebCrypto to secure contexts (https, localhost).
    throw new LinkSecurityError("WebCrypto is unavailable: serve the page over https or from localhost");
  }
  return s;
}

/** @param {number} counter */
/**
 * WebCrypto's view of our bytes: they are always over an ArrayBuffer
 * (never shared memory), which TypeScript cannot see through `Uint8Array`.
 * @param {Uint8Array} bytes
 * @returns {BufferSource}
 */
function buf(bytes) {
  return /** @type {BufferSource} */ (bytes);
}

/** @param {number} counter */
function gcmNonce(counter) {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setBigUint64(4, BigInt(counter), false);
  return iv;
}

/** Client side of an encrypted link: `start` makes the hello, `finish`
 *  checks the proxy's reply and returns the cipher. */
export class LinkDialer {
  /**
   * @param {string} token the proxy's `websocket.token`
   * @param {Uint8Array} [nonce] 32 bytes; random unless given (tests)
   */
  constructor(token, nonce) {
    /** @private @type {Uint8Array} */
    this.token = utf8.encode(token);
    /** @private @type {Uint8Array} */
    this.nonce = nonce || globalThis.crypto.getRandomValues(new Uint8Array(NONCE_LEN));
  }

  /**
   * The hello frame to send first, in clear.
   * @returns {Uint8Array}
   */
  hello() {
    return encodeFrame(HELLO_COMMAND, 0, utf8.encode(JSON.stringify({ v: 1, nonce: toHex(this.nonce) })));
  }

  /**
   * Verifies the proxy's hello (proof of the token) and derives the keys.
   * @param {Frame} frame the proxy's first frame
   * @returns {Promise<LinkCipher>}
   * @throws {LinkSecurityError} when the proxy does not prove the token
   */
  async finish(frame) {
    const parsed = frame.command === HELLO_COMMAND ? parseBody(frame.body) : null;
    const reply = /** @type {{v?: unknown, nonce?: unknown, proof?: unknown} | null} */ (
      parsed !== null && typeof parsed === "object" ? parsed : null
    );
    const serverNonce = reply && fromHex(reply.nonce);
    const proof = reply && fromHex(reply.proof);
    if (!reply || !serverNonce || serverNonce.length !== NONCE_LEN || !proof || reply.v !== 1) {
      throw new LinkSecurityError("the proxy did not answer the encryption hello");
    }
    const s = subtle();
    const transcript = concat(concat(utf8.encode("espoir-ws/1"), this.nonce), serverNonce);
    const macKey = await s.importKey("raw", buf(this.token), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    const signed = concat(utf8.encode("espoir-ws/server"), transcript);
    if (!(await s.verify("HMAC", macKey, buf(proof), buf(signed)))) {
      throw new LinkSecurityError("the proxy failed to prove it knows the websocket token");
    }
    const salt = new Uint8Array(await s.digest("SHA-256", buf(transcript)));
    const ikm = await s.importKey("raw", buf(this.token), "HKDF", false, ["deriveKey"]);
    /**
     * @param {string} info
     * @param {KeyUsage} usage
     */
    const derive = (info, usage) =>
      s.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt, info: utf8.encode(info) },
        ikm,
        { name: "AES-GCM", length: 256 },
        false,
        [usage],
      );
    return new LinkCipher(
      await derive("espoir-ws/client-to-server", "encrypt"),
      await derive("espoir-ws/server-to-client", "decrypt"),
    );
  }
}

/** Seals outgoing and opens incoming frames. Calls must be made in frame
 *  order (the GCM nonce is a per-direction frame counter), which the client
 *  guarantees by chaining them. */
export class LinkCipher {
  /**
   * @param {CryptoKey} sealKey AES-256-GCM, client to proxy
   * @param {CryptoKey} openKey AES-256-GCM, proxy to client
   */
  constructor(sealKey, openKey) {
    /** @private */
    this.sealKey = sealKey;
    /** @private */
    this.openKey = openKey;
    /** @private Frames sealed so far: the next nonce. */
    this.sealed = 0;
    /** @private Frames opened so far: the next nonce. */
    this.opened = 0;
  }

  /**
   * Returns the encoded sealed frame.
   * @param {number} command
   * @param {number} version
   * @param {Uint8Array} body
   * @returns {Promise<Uint8Array>}
   */
  async seal(command, version, body) {
    const header = encodeFrame(command, version, new Uint8Array(0));
    new DataView(header.buffer).setInt32(0, HEADER_LEN + body.length + TAG_LEN, true);
    const iv = gcmNonce(this.sealed++);
    const sealed = await subtle().encrypt(
      { name: "AES-GCM", iv, additionalData: buf(header), tagLength: 128 },
      this.sealKey,
      buf(body),
    );
    return concat(header, new Uint8Array(sealed));
  }

  /**
   * Opens a decoded frame's body.
   * @param {Frame} frame
   * @returns {Promise<Frame>}
   * @throws {LinkSecurityError} if it was tampered with, replayed or sealed
   *   with other keys
   */
  async open(frame) {
    const header = encodeFrame(frame.command, frame.version, new Uint8Array(0));
    new DataView(header.buffer).setInt32(0, HEADER_LEN + frame.body.length, true);
    const iv = gcmNonce(this.opened++);
    try {
      const plain = await subtle().decrypt(
        { name: "AES-GCM", iv, additionalData: buf(header), tagLength: 128 },
        this.openKey,
        buf(frame.body),
      );
      return { command: frame.command, version: frame.version, body: new Uint8Array(plain) };
    } catch {
      throw new LinkSecurityError("a frame from the proxy failed authentication");
    }
  }
}
