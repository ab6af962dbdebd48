// The arena page: log in with a name, find a match, join the room, steer
// with the arrow keys or the pad, watch the board the room pushes every
// tick, and the result. A lost connection shows "reconnecting"; the page
// then resumes its session, or logs in again and re-joins its room, and
// shows "rejoined" once the seat is back. Query parameters:
//   ?ws=ws://host:port   the proxy's websocket (default: this host, 37000)
//   &minDelay=ms         first reconnect delay (tests shorten it)

import { EspoirClient } from "../../web/espoir-client.js";

// The arena's ids (examples/arena/src/lib.rs, `ids`).
const LOGIN = 120001;
const FIND = 120002;
const JOIN = 120004;
const MOVE = 120005;
const MATCHED = 120101;
const STATE = 120102;
const RESULT = 120103;
const SEAT = 120104;
const QUEUE_EXPIRED = 120105;
const REPLACED = 120106;
const MATCH_FAILED = 120107;

const query = new URLSearchParams(location.search);
const url = query.get("ws") || `ws://${location.hostname || "127.0.0.1"}:37000`;
const client = new EspoirClient(url, { minDelay: Number(query.get("minDelay")) || 500 });

// What the page knows, for people and for the browser test.
const arena = {
  connection: "connecting",
  name: null,
  room: null,
  seat: "none", // none, seated, reconnecting, returned, replaced, lost
  seats: [], // every seat state shown, in order
  events: [], // the room's seat notices: {player, seat}
  rejoins: 0,
  states: 0,
  last: null,
  result: null,
  moves: 0,
  move,
  // Drops the connection as a network loss would look to the service:
  // the session closes, the client reconnects by itself.
  drop: () => client.conn?.ws.close(),
};
window.arena = arena;

const el = (id) => document.getElementById(id);
const COLOURS = ["#5ccf7a", "#6bb7ef", "#ef6b6b", "#c58bef"];

function showSeat(seat, text) {
  arena.seat = seat;
  arena.seats.push(seat);
  el("seat").dataset.seat = seat;
  el("seat").textContent = text;
}

function notice(text) {
  el("notice").textContent = text;
}

function draw(state) {
  const canvas = el("board");
  const ctx = canvas.getContext("2d");
  const cell = Math.floor(Math.min(canvas.width / state.width, canvas.height / state.height));
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#1f2a36";
  for (let x = 0; x <= state.width; x++) {
    ctx.beginPath();
    ctx.moveTo(x * cell + 0.5, 0);
    ctx.lineTo(x * cell + 0.5, state.height * cell);
    ctx.stroke();
  }
  for (let y = 0; y <= state.height; y++) {
    ctx.beginPath();
    ctx.moveTo(0, y * cell + 0.5);
    ctx.lineTo(state.width * cell, y * cell + 0.5);
    ctx.stroke();
  }
  ctx.fillStyle = "#f2c94c";
  for (const [x, y] of state.coins) {
    ctx.beginPath();
    ctx.arc((x + 0.5) * cell, (y + 0.5) * cell, cell * 0.22, 0, Math.PI * 2);
    ctx.fill();
  }
  state.players.forEach((p, i) => {
    if (p.seat === "out") return;
    ctx.globalAlpha = p.seat === "here" ? 1 : 0.4;
    ctx.fillStyle = COLOURS[i % COLOURS.length];
    ctx.fillRect(p.x * cell + 4, p.y * cell + 4, cell - 8, cell - 8);
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#0f1419";
    ctx.font = `${Math.floor(cell / 2.4)}px system-ui`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(p.name.slice(0, 2), (p.x + 0.5) * cell, (p.y + 0.5) * cell);
  });
  const list = el("scores");
  list.replaceChildren(
    ...state.players.map((p, i) => {
      const li = document.createElement("li");
      li.dataset.seat = p.seat;
      li.style.color = p.seat === "here" ? COLOURS[i % COLOURS.length] : "";
      li.textContent = `${p.name}: ${p.score}${p.seat === "here" ? "" : ` (${p.seat})`}`;
      return li;
    }),
  );
}

function onState(state) {
  if (state.room !== arena.room) return;
  arena.last = state;
  arena.states += 1;
  draw(state);
  if (state.phase === "waiting") notice("waiting for the other players");
  else notice(`${Math.ceil(state.ticks_left / 20)} s left, ${state.coins.length} coins`);
}

function onResult(result) {
  if (result.room !== arena.room) return;
  arena.result = result;
  const scores = result.scores.map((s) => `${s.name} ${s.score}`).join(", ");
  const winner = result.winner ? `${result.winner} wins` : "no winner";
  el("result").textContent = `Round over (${result.reason}): ${winner}. ${scores}`;
  notice("");
  el("play").disabled = false;
}

async function join(room) {
  const reply = await client.request(JOIN, { room });
  arena.room = room;
  if (reply.seat === "seated") {
    showSeat("seated", "in the room");
    return;
  }
  // Back from our own drop, the seat comes back `returned` when the room
  // saw the old session close first, `replaced` when this login overtook
  // its close notice: either way the seat is ours again.
  const own = arena.seat === "reconnecting";
  arena.rejoins += 1;
  const how = reply.seat === "kept" ? "rejoined (resumed)" : own || reply.seat === "returned" ? "rejoined" : "took the seat over";
  showSeat("returned", how);
}

async function login(name) {
  await client.request(LOGIN, { name });
  arena.name = name;
}

async function find(event) {
  event.preventDefault();
  el("play").disabled = true;
  el("result").textContent = "";
  arena.result = null;
  try {
    const name = el("name").value.trim();
    if (arena.name !== name) await login(name);
    await client.request(FIND, { mode: el("mode").value.trim() || "classic" });
    notice("looking for players…");
  } catch (error) {
    notice(`cannot queue: ${error.message}`);
    el("play").disabled = false;
  }
}

function move(dir) {
  if (!arena.room || arena.result || arena.seat === "reconnecting") return;
  arena.moves += 1;
  client.request(MOVE, { dir }).catch((error) => notice(`move refused: ${error.message}`));
}

client.on(MATCHED, ({ room, players }) => {
  notice(`matched with ${players.filter((p) => p !== arena.name).join(", ")}`);
  join(room).catch((error) => notice(`cannot join: ${error.message}`));
});
client.on(STATE, onState);
client.on(RESULT, onResult);
client.on(SEAT, ({ player, seat }) => {
  arena.events.push({ player, seat });
  if (player !== arena.name) notice(`${player}: ${seat}`);
});
client.on(REPLACED, () => {
  arena.room = null;
  showSeat("replaced", "your seat was taken over by another login");
});
client.on(QUEUE_EXPIRED, () => {
  notice("no match found; try again");
  el("play").disabled = false;
});
client.on(MATCH_FAILED, ({ msg }) => {
  notice(`no room: ${msg}`);
  el("play").disabled = false;
});
client.on("state", ({ state }) => {
  arena.connection = state;
  el("status").textContent = state;
  el("status").dataset.state = state;
  if (state === "reconnecting" && arena.room && !arena.result) showSeat("reconnecting", "reconnecting…");
});
client.on("open", ({ reconnected, resumed }) => {
  if (!reconnected || !arena.room || arena.result) return;
  if (resumed) {
    // The same session: its groups and seat never moved and the pushes
    // missed were replayed; the join confirms the seat ("kept").
    join(arena.room).catch((error) => showSeat("lost", `seat lost: ${error.message}`));
    return;
  }
  // A new session: log in again and take the seat back within the
  // room's reconnection window.
  login(arena.name)
    .then(() => join(arena.room))
    .catch((error) => showSeat("lost", `seat lost: ${error.message}`));
});

el("find").addEventListener("submit", find);
for (const button of document.querySelectorAll(".pad button")) {
  button.addEventListener("click", () => move(button.dataset.dir));
}
const KEYS = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right" };
addEventListener("keydown", (event) => {
  const dir = KEYS[event.key];
  if (!dir || event.target instanceof HTMLInputElement) return;
  event.preventDefault();
  move(dir);
});

client.connect().catch((error) => notice(`cannot connect: ${error.message}`));
