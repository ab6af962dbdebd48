// Self-test of the framing and encryption against known answers computed by
// the Rust implementation (framework/src/secure/client_link_tests.rs), so the
// browser and the proxy agree byte for byte. Runs in a browser
// (examples/web/test.html, driven by the browser test) or in Node 20+.

import { FrameDecoder, LinkDialer, encodeFrame, fromHex, jsonBody, parseBody, toHex } from "./espoir-frame.js";

const TOKEN = "espoir-local-websocket-token-0001";
const KAT_PROOF = "f2f27ab520ec8853a7e4d389220a6ffe1b6df3be2e35635f798ac9e56b85a395";
const KAT_CLIENT_FRAME_BODY = "12196cb4e43ea54e32b2c433e0f238883525ba9a0dacd7aad9ced10cf11c";
const KAT_SERVER_FRAME_BODY = "e11bc6d54cb052eb8d1c34099648a67dc6fd";

function check(cond, what) {
  if (!cond) throw new Error(`self-test failed: ${what}`);
}

function equalBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Runs every check; resolves to the list of passed checks or throws. */
export async function selfTest() {
  const passed = [];

  const frame = encodeFrame(100002, 7, jsonBody({ a: 1 }));
  check(toHex(frame.slice(0, 12)) === "13000000a2860100" + "07000000", "header is little-endian with the length first");
  passed.push("framing: header layout");

  const decoder = new FrameDecoder(64);
  const two = new Uint8Array([...frame, ...encodeFrame(1, 0, new Uint8Array(0))]);
  check(decoder.feed(two.slice(0, 5)).length === 0, "a partial header waits");
  const frames = decoder.feed(two.slice(5));
  check(frames.length === 2 && frames[0].command === 100002 && frames[0].version === 7, "split and joined frames decode");
  check(JSON.stringify(parseBody(frames[0].body)) === '{"a":1}' && parseBody(frames[1].body) === null, "bodies parse");
  let refused = false;
  try {
    new FrameDecoder(64).feed(encodeFrame(1, 0, new Uint8Array(100)));
  } catch {
    refused = true;
  }
  check(refused, "an oversized frame is refused");
  passed.push("framing: decoder");

  const dialer = new LinkDialer(TOKEN, new Uint8Array(32).fill(0x11));
  const hello = new FrameDecoder().feed(dialer.hello())[0];
  check(new TextDecoder().decode(hello.body) === `{"v":1,"nonce":"${"11".repeat(32)}"}`, "the hello matches Rust's");
  const reply = {
    command: 10004,
    version: 0,
    body: jsonBody({ v: 1, nonce: "22".repeat(32), proof: KAT_PROOF }),
  };
  const cipher = await dialer.finish(reply);
  passed.push("encryption: the proxy's proof verifies");

  const sealed = await cipher.seal(100002, 0, new TextEncoder().encode('{"name":"ann"}'));
  check(toHex(sealed.slice(12)) === KAT_CLIENT_FRAME_BODY, "a sealed client frame matches Rust's");
  check(new DataView(sealed.buffer).getInt32(0, true) === sealed.length, "the sealed length counts the tag");
  passed.push("encryption: sealing matches the proxy");

  const push = await cipher.open({ command: 100101, version: 3, body: fromHex(KAT_SERVER_FRAME_BODY) });
  check(equalBytes(push.body, new TextEncoder().encode("{}")), "a push sealed by Rust opens");
  let forged = false;
  try {
    await cipher.open({ command: 100101, version: 3, body: fromHex(KAT_SERVER_FRAME_BODY) });
  } catch {
    forged = true;
  }
  check(forged, "a replayed frame is refused");
  passed.push("encryption: opening and replay refusal");

  let badProof = false;
  try {
    await new LinkDialer("another-websocket-token-00000001", new Uint8Array(32).fill(0x11)).finish(reply);
  } catch {
    badProof = true;
  }
  check(badProof, "a proof made with another token is refused");
  passed.push("encryption: wrong token detected");
  return passed;
}
