// The framing codec and the link encryption, in Node (node --test).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DEFAULT_MAX_FRAME,
  FrameDecoder,
  FrameError,
  HEADER_LEN,
  encodeFrame,
  fromHex,
  jsonBody,
  parseBody,
  toHex,
} from "../espoir-frame.js";
import { selfTest } from "../espoir-selftest.js";

test("a frame's header is little-endian: length (header included), command, version", () => {
  const frame = encodeFrame(100002, 7, jsonBody({ a: 1 }));
  assert.equal(frame.length, HEADER_LEN + 7);
  assert.equal(toHex(frame.subarray(0, HEADER_LEN)), "13000000" + "a2860100" + "07000000");
  assert.equal(new TextDecoder().decode(frame.subarray(HEADER_LEN)), '{"a":1}');
});

test("frames decode whatever the split of the messages that carry them", () => {
  const frames = [
    encodeFrame(1, 0, jsonBody({ n: 1 })),
    encodeFrame(100101, 3, jsonBody({ balance: 1080 })),
    encodeFrame(2, 0, new Uint8Array(0)),
  ];
  const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  frames.reduce((at, f) => (stream.set(f, at), at + f.length), 0);
  // Every pair of cut points: three messages of any sizes, empty ones too.
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      const decoder = new FrameDecoder(64);
      const out = [stream.slice(0, a), stream.slice(a, b), stream.slice(b)].flatMap((m) => decoder.feed(m.buffer));
      assert.deepEqual(
        out.map((f) => [f.command, f.version, parseBody(f.body)]),
        [
          [1, 0, { n: 1 }],
          [100101, 3, { balance: 1080 }],
          [2, 0, null],
        ],
        `cut at ${a} and ${b}`,
      );
    }
  }
});

test("a length that cannot be valid is a FrameError, not a hang or a huge buffer", () => {
  const header = (length) => {
    const h = new Uint8Array(HEADER_LEN);
    new DataView(h.buffer).setInt32(0, length, true);
    return h;
  };
  assert.throws(() => new FrameDecoder(64).feed(header(11)), FrameError, "shorter than the header");
  assert.throws(() => new FrameDecoder(64).feed(header(-1)), FrameError, "negative");
  assert.throws(() => new FrameDecoder(64).feed(header(65)), /exceeds 64/);
  // The check comes with the header, before any body byte is buffered.
  assert.throws(() => new FrameDecoder().feed(header(DEFAULT_MAX_FRAME + 1)), FrameError);
  assert.equal(new FrameDecoder(64).feed(header(64)).length, 0, "a frame of exactly the limit waits for its body");
});

test("bodies: JSON, text when not JSON (obespoir sends strings verbatim), null when empty", () => {
  assert.deepEqual(parseBody(jsonBody({ x: [1, "two"] })), { x: [1, "two"] });
  assert.equal(parseBody(new TextEncoder().encode("plain words")), "plain words");
  assert.equal(parseBody(new Uint8Array(0)), null);
  assert.equal(new TextDecoder().decode(jsonBody(undefined)), "{}");
});

test("hex round-trips and refuses what is not hex", () => {
  const bytes = new Uint8Array([0, 1, 0xab, 0xff]);
  assert.equal(toHex(bytes), "0001abff");
  assert.deepEqual(fromHex("0001ABff"), bytes);
  for (const bad of ["abc", "zz", 12, null]) assert.equal(fromHex(bad), null, String(bad));
});

test("framing and encryption match the Rust implementation's known answers", async () => {
  const passed = await selfTest();
  assert.ok(passed.includes("encryption: sealing matches the proxy"), passed.join(", "));
  assert.equal(passed.length, 6);
});
