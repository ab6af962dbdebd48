// How a TypeScript user sees the package: this file is type-checked (never
// run) by `npm run typecheck` against the declarations in types/, imported
// by the package's name as a user would. The `@ts-expect-error` lines prove
// the declarations refuse what they should: if a type loosens, tsc fails on
// the unused directive.

import { EspoirClient, EspoirError, type ClientEvents, type WebSocketConstructor } from "espoir-client";
import { BETTING, MATCH_STATES, type BettingApi, type SettlementPush, type StatePush } from "espoir-client/betting";
import { FrameDecoder, encodeFrame, jsonBody, parseBody, type Frame } from "espoir-client/frame";

export async function bettingRound(url: string, WebSocket?: WebSocketConstructor): Promise<number> {
  const client = new EspoirClient<BettingApi>(url, { maxDelay: 5000, WebSocket });
  const offOpen = client.on("open", ({ reconnected, resumed }: ClientEvents["open"]) => {
    if (reconnected && !resumed) void client.request(BETTING.login, { name: "ann", password: "pw" });
  });
  client.on("close", ({ code, willReconnect }) => console.log(code.toFixed(0), willReconnect));
  client.on(BETTING.settled, (s: SettlementPush) => console.log(s.order_id, s.balance));
  client.on(BETTING.stateChanged, (p) => {
    const state: StatePush["state"] = p.state;
    console.log(MATCH_STATES[state], p.result?.toUpperCase());
  });
  await client.connect();

  const me = await client.request(BETTING.login, { name: "ann", password: "pw" });
  const created: boolean = me.created;
  const { matches } = await client.request(BETTING.list, { status: "doing", type: "football" });
  const open = matches.find((m) => m.state === 2 && m.options.some((o) => o.odds > 1));
  if (open) {
    const placed = await client.request(BETTING.bet, { match_id: open.id, option: open.options[0].name, amount: 100 });
    const orderId: string = placed.order_id;
    console.log(orderId, created);
  }
  const { orders } = await client.request(BETTING.myBets, {});
  const paid = orders.filter((o) => o.status === 9).map((o) => o.payout);
  try {
    await client.request(BETTING.bet, { match_id: 1, option: "home", amount: 1e9 }, { timeout: 1000 });
  } catch (error) {
    if (error instanceof EspoirError && error.code === 6014 && !error.local) console.log("insufficient balance");
  }

  // @ts-expect-error a command the betting app does not have
  await client.request(123456, {});
  // @ts-expect-error the login needs a password
  await client.request(BETTING.login, { name: "ann" });
  // @ts-expect-error a stake is a number
  await client.request(BETTING.bet, { match_id: 1, option: "home", amount: "100" });
  // @ts-expect-error the reply has no such field
  (await client.request(BETTING.balance, {})).coins;
  // @ts-expect-error settlements carry no `winner`
  client.on(BETTING.settled, (s) => s.winner);
  // @ts-expect-error no such event
  client.on("opened", () => {});
  offOpen();
  client.close();
  return paid.length;
}

export function untyped(url: string): void {
  // Without a protocol any command and body goes, replies are `any`.
  const client = new EspoirClient(url);
  void client.request(42, { anything: true }).then((reply) => reply.whatever);
  client.on(7, (body) => body.x);
  client.send(99, { fire: "and forget" });
  // @ts-expect-error commands are numbers
  client.send("99");
}

export function framing(): Frame[] {
  const bytes = encodeFrame(100002, 0, jsonBody({ name: "ann" }));
  const frames = new FrameDecoder(1024).feed(bytes);
  console.log(parseBody(frames[0].body));
  return frames;
}
