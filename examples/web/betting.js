// The betting page: log in, list matches by type and status, bet, and
// follow state changes (100100) and settlements (100101) as they are
// pushed. Commands are those of docs/betting.md.

import { BETTING } from "./espoir-betting.js";
import { EspoirClient } from "./espoir-client.js";
import { STATES, clientOptions, el, settings, when } from "./settings.js";
/** An order's final states; any other is still open (docs/betting.md). */
const ORDER_STATES = { 4: "lost", 8: "refunded", 9: "won" };

const $ = (id) => document.getElementById(id);
/** @type {EspoirClient<import("./espoir-betting.js").BettingApi>} */
const client = new EspoirClient(settings.ws, clientOptions());
const page = { credentials: null, user: null, status: "doing", types: new Set() };

function notice(text, cls) {
  $("notices").prepend(el("li", { class: cls }, `${new Date().toLocaleTimeString()} ${text}`));
}

function showBalance(balance) {
  $("balance").textContent = String(balance);
}

client.on("state", ({ state }) => {
  $("status").textContent = state === "open" ? "connected" : state;
  $("status").className = `badge ${state}`;
});
client.on("reconnecting", ({ attempt, delay }) => notice(`connection lost; retry ${attempt} in ${delay} ms`));
client.on("open", async ({ reconnected, resumed }) => {
  if (!reconnected) return;
  if (resumed) return notice("reconnected (session resumed)");
  notice("reconnected");
  // A new session: the server forgot the login, so log in again.
  if (page.credentials) await logIn(page.credentials).catch((e) => notice(`login failed: ${e.message}`, "error"));
});
client.on(BETTING.stateChanged, (body) => {
  notice(`match ${body.match_id} is now ${STATES[body.state] || body.state}${body.result ? ` (${body.result} won)` : ""}`);
  refresh();
});
client.on(BETTING.settled, (body) => {
  const what = body.status === 9 ? `won ${body.payout}` : body.status === 8 ? `refunded ${body.stake}` : `lost ${body.stake}`;
  notice(`order ${body.order_id} on match ${body.match_id}: ${what}; balance ${body.balance}`, body.status === 4 ? "lost" : "won");
  showBalance(body.balance);
  loadBets();
});

async function logIn(credentials) {
  const me = await client.request(BETTING.login, credentials);
  page.credentials = credentials;
  page.user = me;
  $("who").textContent = me.name;
  showBalance(me.balance);
  for (const id of ["balance-box", "matches-box", "side-box"]) $(id).hidden = false;
  $("login-box").hidden = true;
  await refresh();
}

async function refresh() {
  if (!page.user) return;
  const type = $("type").value;
  const { matches } = await client.request(BETTING.list, { status: page.status, ...(type ? { type } : {}) });
  for (const m of matches) page.types.add(m.type);
  fillTypes();
  $("matches").replaceChildren(...(matches.length ? matches.map(matchCard) : [el("p", { class: "muted" }, "No matches.")]));
  await Promise.all([loadBets(), loadBalance()]);
}

function fillTypes() {
  const select = $("type");
  const known = new Set([...select.options].map((o) => o.value));
  for (const type of page.types) if (!known.has(type)) select.append(el("option", { value: type }, type));
}

function matchCard(m) {
  const open = m.state === 2;
  const amount = el("input", { type: "number", min: "1", value: "100", class: "amount", "aria-label": "stake" });
  const options = m.options.map((o) =>
    el(
      "button",
      {
        type: "button",
        class: open ? "" : "secondary",
        "data-option": o.name,
        disabled: !open,
        onclick: () => placeBet(m, o.name, Number(amount.value)),
      },
      `${o.name} × ${o.odds}`,
    ),
  );
  return el(
    "div",
    { class: "match", "data-match-id": m.id, "data-state": m.state },
    el("div", { class: "title" }, el("strong", {}, `${m.home} vs ${m.away}`), el("span", { class: "badge" }, STATES[m.state])),
    el("div", { class: "muted" }, `${m.type} · #${m.id} · starts ${when(m.start_time)}${m.result ? ` · result: ${m.result}` : ""}`),
    el("div", { class: "options" }, options, open ? amount : null),
  );
}

async function placeBet(match, option, amount) {
  try {
    const placed = await client.request(BETTING.bet, { match_id: match.id, option, amount });
    showBalance(placed.balance);
    notice(`bet ${amount} on ${option} (${match.home} vs ${match.away}), order ${placed.order_id}`);
    await loadBets();
  } catch (error) {
    notice(`bet refused: ${error.message} (${error.code})`, "error");
  }
}

async function loadBets() {
  const { orders } = await client.request(BETTING.myBets, {});
  $("bets").replaceChildren(
    ...orders.map((o) =>
      el("li", { "data-order-id": o.order_id }, `#${o.match_id} ${o.option}: ${o.amount} → ${ORDER_STATES[o.status] || "open"}${o.payout ? ` (+${o.payout})` : ""}`),
    ),
  );
}

async function loadBalance() {
  const { balance } = await client.request(BETTING.balance, {});
  showBalance(balance);
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await logIn({ name: $("name").value.trim(), password: $("password").value });
  } catch (error) {
    $("login-error").textContent = `Login failed: ${error.message}`;
  }
});
$("refresh").addEventListener("click", () => refresh().catch((e) => notice(e.message, "error")));
$("type").addEventListener("change", () => refresh().catch((e) => notice(e.message, "error")));
for (const tab of document.querySelectorAll("#status-tabs button")) {
  tab.addEventListener("click", () => {
    page.status = tab.dataset.status;
    for (const t of document.querySelectorAll("#status-tabs button")) t.setAttribute("aria-pressed", String(t === tab));
    refresh().catch((e) => notice(e.message, "error"));
  });
}

client.connect().catch((error) => notice(`cannot connect: ${error.message}`, "error"));
// For tests and the console.
window.espoir = { client, page };
