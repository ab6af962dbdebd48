// The quote page (seed 001): asks the service for its symbols, subscribes
// to their topics with the framework's subscribe command, draws each
// symbol's snapshot then its live ticks. Query parameters:
//   ?ws=ws://host:port   the proxy's websocket (default: this host, 33000)
//   &symbols=AAPL,MSFT   subscribe to these only
//   &maxDelay=ms         longest reconnect delay (tests shorten it)

import { EspoirClient } from "../../web/espoir-client.js";
import { LineChart } from "./chart.js";

const SYMBOLS = 61000;
const SUBSCRIBE = 10004;
const TICK = 61001;

const query = new URLSearchParams(location.search);
const url = query.get("ws") || `ws://${location.hostname || "127.0.0.1"}:33000`;
const client = new EspoirClient(url, { maxDelay: Number(query.get("maxDelay")) || 15000 });

// What the page has drawn, for people and for the browser test.
const state = { subscribed: false, ticks: {}, last: {}, seq: {} };
window.quotes = state;
const charts = new Map();

const el = (id) => document.getElementById(id);

function chartFor(symbol) {
  let chart = charts.get(symbol);
  if (chart) return chart;
  const box = document.createElement("section");
  box.className = "quote";
  box.dataset.symbol = symbol;
  box.innerHTML = `<h2><span></span><span class="price">–</span></h2><canvas></canvas>`;
  box.querySelector("h2 span").textContent = symbol;
  el("charts").append(box);
  chart = { line: new LineChart(box.querySelector("canvas")), price: box.querySelector(".price") };
  charts.set(symbol, chart);
  state.ticks[symbol] = 0;
  return chart;
}

function onTick(tick) {
  if (typeof tick?.symbol !== "string" || typeof tick.price !== "number") return;
  // A snapshot after a reconnect repeats ticks already drawn.
  if (typeof tick.seq === "number") {
    if (tick.seq <= (state.seq[tick.symbol] ?? 0)) return;
    state.seq[tick.symbol] = tick.seq;
  }
  const chart = chartFor(tick.symbol);
  const before = state.last[tick.symbol];
  chart.line.add(tick.price);
  chart.price.textContent = tick.price.toFixed(2);
  chart.price.className = `price ${before === undefined || tick.price >= before ? "up" : "down"}`;
  state.last[tick.symbol] = tick.price;
  state.ticks[tick.symbol] += 1;
}

async function subscribe() {
  const listed = await client.request(SYMBOLS, {});
  const wanted = query.get("symbols")?.split(",").filter(Boolean) ?? listed.symbols;
  wanted.forEach(chartFor);
  const topics = wanted.map((s) => `quotes.${s}`);
  const reply = await client.request(SUBSCRIBE, { topics });
  state.subscribed = true;
  el("notice").textContent = `${topics.length} symbols, ${reply.snapshot} ticks of history`;
}

client.on(TICK, onTick);
client.on("state", ({ state: s }) => {
  el("status").textContent = s;
  el("status").dataset.state = s;
});
client.on("open", ({ resumed }) => {
  // A new session has no subscriptions: subscribe again (the snapshot
  // fills what was missed; repeats are dropped by seq).
  if (!resumed) subscribe().catch((e) => (el("notice").textContent = `subscribe failed: ${e.message}`));
});

client.connect().catch((error) => (el("notice").textContent = `cannot connect: ${error.message}`));
