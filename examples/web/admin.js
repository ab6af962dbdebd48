// The admin page: runs a whole round through the betting service's admin
// API (docs/betting.md, "Admin API") with the bearer token the person
// enters. The API lives on the betting service's HTTP port, another origin
// than this page's: the service lists this page's origin in
// `http.cors_origins` (configs/local), so the browser lets the calls
// through (docs/clients.md).

import { STATES, el, settings, when } from "./settings.js";

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("espoir-admin-token") || "";

function log(text, cls) {
  $("log").prepend(el("li", { class: cls }, `${new Date().toLocaleTimeString()} ${text}`));
}

async function gm(method, path, body) {
  const response = await fetch(`${settings.gm}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${data.msg || response.statusText} (${data.code || response.status})`);
  return data;
}

/** Which actions each state allows (the state machine of docs/betting.md). */
function actions(m) {
  const s = m.state;
  const list = [];
  if (s === 0) list.push(["approve", "approve"]);
  if (s === 1) list.push(["open", "open betting"]);
  if (s === 2) list.push(["stop", "stop betting"]);
  return list.concat([0, 1, 2, 5].includes(s) ? [["cancel", "cancel"]] : []);
}

function row(m) {
  const buttons = actions(m).map(([action, label]) =>
    el("button", {
      type: "button",
      class: action === "cancel" ? "danger" : "secondary",
      "data-action": action,
      onclick: () => act(m, action),
    }, label),
  );
  const settle = [1, 2, 5].includes(m.state)
    ? el(
        "span",
        { class: "row" },
        el("select", { class: "winner", "aria-label": "winner" }, m.options.map((o) => el("option", { value: o.name }, o.name))),
        el("button", { type: "button", "data-action": "result", onclick: (e) => settle_(m, e.target.previousSibling.value) }, "settle"),
        el("button", { type: "button", class: "secondary", "data-action": "no-result", onclick: () => settle_(m, null) }, "no result"),
      )
    : null;
  return el(
    "tr",
    { "data-match-id": m.id, "data-state": m.state },
    el("td", {}, m.id),
    el("td", {}, el("strong", {}, `${m.home} vs ${m.away}`), el("div", { class: "muted" }, `${m.type} · ${when(m.start_time)} · ${m.options.map((o) => `${o.name} ${o.odds}`).join(", ")}`)),
    el("td", {}, STATES[m.state], m.result ? ` (${m.result})` : ""),
    el("td", {}, el("div", { class: "row" }, buttons, settle)),
  );
}

async function reload() {
  const { matches } = await gm("GET", "/gm/matches");
  $("matches").replaceChildren(...matches.sort((a, b) => b.id - a.id).map(row));
}

async function act(m, action) {
  try {
    const after = await gm("POST", `/gm/matches/${m.id}/${action}`);
    log(`#${m.id} ${action}: now ${STATES[after.state]}`);
  } catch (error) {
    log(`#${m.id} ${action} refused: ${error.message}`, "error");
  }
  await reload().catch((e) => log(e.message, "error"));
}

async function settle_(m, option) {
  try {
    const after = await gm("POST", `/gm/matches/${m.id}/result`, option ? { option } : { no_result: true });
    log(`#${m.id} ${option ? `settled: ${option} won` : "no result"}; now ${STATES[after.state]}`);
  } catch (error) {
    log(`#${m.id} settle refused: ${error.message}`, "error");
  }
  await reload().catch((e) => log(e.message, "error"));
}

function parseOptions(text) {
  return text.split(",").map((part) => {
    const [name, odds] = part.split(":").map((s) => s.trim());
    return { name, odds: Number(odds) };
  });
}

async function useToken(value) {
  token = value;
  try {
    await reload();
  } catch (error) {
    log(`admin API refused: ${error.message}`, "error");
    return;
  }
  sessionStorage.setItem("espoir-admin-token", token);
  for (const id of ["create-box", "matches-box", "credit-box"]) $(id).hidden = false;
  log("admin API ready");
}

$("api").textContent = settings.gm;
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  useToken($("token").value.trim());
});
$("create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const m = await gm("POST", "/gm/matches", {
      type: $("m-type").value.trim(),
      home: $("m-home").value.trim(),
      away: $("m-away").value.trim(),
      start_time: Math.floor(Date.now() / 1000) + 60 * Number($("m-minutes").value),
      options: parseOptions($("m-options").value),
    });
    log(`created #${m.id} ${m.home} vs ${m.away}`);
  } catch (error) {
    log(`create refused: ${error.message}`, "error");
  }
  await reload().catch((e) => log(e.message, "error"));
});
$("credit-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("c-name").value.trim();
  try {
    const r = await gm("POST", `/gm/users/${encodeURIComponent(name)}/credit`, { amount: Number($("c-amount").value) });
    log(`credited ${name}: balance ${r.balance}`);
  } catch (error) {
    log(`credit refused: ${error.message}`, "error");
  }
});
$("reload").addEventListener("click", () => reload().catch((e) => log(e.message, "error")));
if (token) {
  $("token").value = token;
  useToken(token);
}
