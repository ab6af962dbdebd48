// The client against a scripted proxy (fake-socket.js): replies matched to
// requests, pushes, and session resume across cut connections.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ACK_COMMAND, EspoirClient, EspoirError, KICK_COMMAND, RESUME_COMMAND } from "../espoir-client.js";
import { FakeNet, Recorder } from "./fake-socket.js";

const PUSH = 51000;
const BALANCE = 100030;

/** A client on `net` that reconnects at once and sends no heartbeats. */
function clientOn(net, options = {}) {
  return new EspoirClient("ws://proxy.test", {
    WebSocket: net.WebSocket,
    heartbeatInterval: 0,
    minDelay: 1,
    maxDelay: 2,
    ...options,
  });
}

/** The next `event` of `client`. */
function once(client, event) {
  return new Promise((resolve) => {
    const off = client.on(event, (value) => {
      off();
      resolve(value);
    });
  });
}

/** Connects `client` on socket `n` of `net`, opting in with `token`. */
async function connectOptedIn(client, net, n, token) {
  const connected = client.connect();
  const socket = await net.socket(n);
  socket.accept();
  assert.deepEqual((await socket.next(RESUME_COMMAND)).body, {}, "a new session opts in first");
  socket.frame(RESUME_COMMAND, { code: 200, session: "s_1", token, last: 0, grace: 30, replayed: 0 });
  await connected;
  return socket;
}

test("replies answer requests per command, first in first out; errors reject", async () => {
  const net = new FakeNet();
  const client = clientOn(net, { resume: false });
  const connected = client.connect();
  const socket = await net.socket(0);
  socket.accept();
  await connected;
  const first = client.request(BALANCE, {});
  const second = client.request(BALANCE, {});
  const refused = client.request(100020, { amount: 5000 });
  assert.deepEqual(
    [await socket.next(BALANCE), await socket.next(BALANCE), await socket.next(100020)].map((f) => f.body),
    [{}, {}, { amount: 5000 }],
  );
  socket.frame(100020, { code: 6014, msg: "insufficient balance" });
  socket.frame(BALANCE, { balance: 1 });
  socket.frame(BALANCE, { balance: 2 });
  assert.deepEqual([await first, await second], [{ balance: 1 }, { balance: 2 }]);
  const error = await refused.then(() => assert.fail("an error reply rejects"), (e) => e);
  assert.ok(error instanceof EspoirError);
  assert.deepEqual([error.code, error.message, error.command, error.local], [6014, "insufficient balance", 100020, false]);
  client.close();
});

test("a request that timed out keeps its place: its late reply is not the next one's", async () => {
  const net = new FakeNet();
  const client = clientOn(net, { resume: false });
  const connected = client.connect();
  const socket = await net.socket(0);
  socket.accept();
  await connected;
  const late = await client.request(BALANCE, {}, { timeout: 1 }).catch((e) => e);
  assert.deepEqual([late.code, late.local], [408, true]);
  const next = client.request(BALANCE, {});
  await socket.next(BALANCE);
  await socket.next(BALANCE);
  socket.frame(BALANCE, { balance: "late" });
  socket.frame(BALANCE, { balance: "mine" });
  assert.deepEqual(await next, { balance: "mine" });
  client.close();
});

test("a client cut mid-stream resumes: the same session, every push once and in order", async () => {
  const net = new FakeNet();
  const client = clientOn(net);
  const pushes = new Recorder();
  client.on(PUSH, (body) => pushes.add(body.i));
  const first = await connectOptedIn(client, net, 0, "token-1");
  for (let seq = 1; seq <= 5; seq++) first.frame(PUSH, { i: seq }, seq);
  await pushes.until(5);

  const lost = once(client, "close");
  first.cut();
  assert.deepEqual(await lost, { code: 1006, reason: "", willReconnect: true });
  const second = await net.socket(1);
  second.accept();
  const resume = await second.next(RESUME_COMMAND);
  assert.deepEqual(resume.body, { token: "token-1", last: 5 }, "the token and the last push seen, first");
  assert.equal(second.sent[0], resume, "as the connection's first frame");
  const opened = once(client, "open");
  second.frame(RESUME_COMMAND, { code: 200, session: "s_1", token: "token-2", last: 8, grace: 30, replayed: 5 });
  // The replay may repeat pushes that reached the client before the cut.
  for (const seq of [4, 5, 6, 7, 8]) second.frame(PUSH, { i: seq }, seq);
  assert.deepEqual(await opened, { reconnected: true, resumed: true });
  second.frame(PUSH, { i: 9 }, 9);
  assert.deepEqual(await pushes.until(9), [1, 2, 3, 4, 5, 6, 7, 8, 9]);

  // Requests work on the resumed session.
  const balance = client.request(BALANCE, {});
  await second.next(BALANCE);
  second.frame(BALANCE, { balance: 1080 });
  assert.deepEqual(await balance, { balance: 1080 });

  // The next cut presents the token the resume handed out.
  second.cut();
  const third = await net.socket(2);
  third.accept();
  assert.deepEqual((await third.next(RESUME_COMMAND)).body, { token: "token-2", last: 9 });
  client.close();
  assert.equal(pushes.seen.length, 9, "nothing twice");
});

test("every tenth push is acknowledged with its number", async () => {
  const net = new FakeNet();
  const client = clientOn(net);
  const socket = await connectOptedIn(client, net, 0, "t");
  for (let seq = 1; seq <= 10; seq++) socket.frame(PUSH, { i: seq }, seq);
  assert.deepEqual((await socket.next(ACK_COMMAND)).body, { seq: 10 });
  for (let seq = 11; seq <= 20; seq++) socket.frame(PUSH, { i: seq }, seq);
  assert.deepEqual((await socket.next(ACK_COMMAND)).body, { seq: 20 });
  client.close();
});

test("a refused resume carries on as a new session whose pushes count from 1 again", async () => {
  const net = new FakeNet();
  const client = clientOn(net);
  const pushes = new Recorder();
  client.on("push", ({ body, seq }) => pushes.add([body.i, seq]));
  const first = await connectOptedIn(client, net, 0, "old");
  for (let seq = 1; seq <= 3; seq++) first.frame(PUSH, { i: seq }, seq);
  await pushes.until(3);
  first.cut();
  const second = await net.socket(1);
  second.accept();
  assert.deepEqual((await second.next(RESUME_COMMAND)).body, { token: "old", last: 3 });
  const opened = once(client, "open");
  second.frame(RESUME_COMMAND, { code: 404, msg: "unknown or expired session" });
  assert.deepEqual((await second.next(RESUME_COMMAND)).body, {}, "opts the new session in");
  second.frame(RESUME_COMMAND, { code: 200, session: "s_2", token: "new", last: 0, grace: 30, replayed: 0 });
  assert.deepEqual(await opened, { reconnected: true, resumed: false }, "the page must log in again");
  second.frame(PUSH, { i: 100 }, 1);
  second.frame(PUSH, { i: 101 }, 2);
  assert.deepEqual((await pushes.until(5)).slice(3), [
    [100, 1],
    [101, 2],
  ]);
  client.close();
});

test("a connection lost while resuming keeps the token for the next one", async () => {
  const net = new FakeNet();
  const client = clientOn(net);
  const first = await connectOptedIn(client, net, 0, "keep-me");
  first.frame(PUSH, { i: 1 }, 1);
  first.cut();
  const second = await net.socket(1);
  second.accept();
  assert.deepEqual((await second.next(RESUME_COMMAND)).body, { token: "keep-me", last: 1 });
  second.cut(); // before the proxy answered
  const third = await net.socket(2);
  third.accept();
  assert.deepEqual((await third.next(RESUME_COMMAND)).body, { token: "keep-me", last: 1 });
  client.close();
});

test("a proxy without resume: plain reconnects, pushes unnumbered", async () => {
  const net = new FakeNet();
  const client = clientOn(net);
  const pushes = new Recorder();
  client.on(PUSH, (body) => pushes.add(body));
  const connected = client.connect();
  const socket = await net.socket(0);
  socket.accept();
  await socket.next(RESUME_COMMAND);
  const opened = once(client, "open");
  socket.frame(RESUME_COMMAND, { code: 404, msg: "no handler for command 10001" });
  assert.deepEqual(await opened, { reconnected: false, resumed: false });
  await connected;
  socket.frame(PUSH, "same", 0);
  socket.frame(PUSH, "same", 0);
  assert.deepEqual(await pushes.until(2), ["same", "same"], "unnumbered pushes are never taken for repeats");
  socket.cut();
  const again = await net.socket(1);
  again.accept();
  assert.deepEqual((await again.next(RESUME_COMMAND)).body, {}, "no token to present");
  client.close();
});

test("a kicked session says so and does not come back", async () => {
  const net = new FakeNet();
  const client = clientOn(net, { resume: false });
  const connected = client.connect();
  const socket = await net.socket(0);
  socket.accept();
  await connected;
  const kicked = once(client, "kicked");
  const closed = once(client, "close");
  socket.frame(KICK_COMMAND, { code: 4001, msg: "logged in elsewhere" });
  assert.deepEqual(await kicked, { body: { code: 4001, msg: "logged in elsewhere" } });
  socket.end(4001, "logged in elsewhere");
  assert.deepEqual(await closed, { code: 4001, reason: "logged in elsewhere", willReconnect: false });
  assert.equal(client.state, "closed");
  const error = await client.request(BALANCE, {}).catch((e) => e);
  assert.deepEqual([error.code, error.local], [503, true]);
  assert.equal(net.sockets.length, 1);
});

test("without a WebSocket (Node 20) the constructor says what to pass", () => {
  assert.throws(() => new EspoirClient("ws://proxy.test", { WebSocket: undefined }), /options\.WebSocket/);
});
