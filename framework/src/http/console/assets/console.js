// The Espoir operations console: polls the node's JSON snapshot with the
// admin token and draws it. No dependencies; served from the binary.
'use strict';

const TOKEN_KEY = 'espoir.console.token';
const POLL_MS = 2000;
// Samples kept for the charts: three minutes at the poll interval.
const KEEP = 90;

const $ = (id) => document.getElementById(id);
let samples = [];
let timer = null;
let nodeName = '';

class AuthError extends Error {}

// The token lives in this tab's sessionStorage and goes out only in the
// Authorization header, never in a URL that a log could keep.
const token = () => sessionStorage.getItem(TOKEN_KEY);

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, {
    method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await resp.json(); } catch (_) { /* not JSON */ }
  if (resp.status === 401 || resp.status === 403) throw new AuthError((data && data.msg) || resp.statusText);
  return { status: resp.status, ok: resp.ok, data };
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const badge = (state) => el('span', { class: `badge state-${state}` }, state);
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

// --- rates from two snapshots -------------------------------------------

function perSecond(a, b, pick) {
  const dt = (b.at_ms - a.at_ms) / 1000;
  return dt > 0 ? Math.max(0, pick(b) - pick(a)) / dt : 0;
}

// The handler time under which a share `q` of the runs between two
// snapshots finished: the upper bound of the bucket that reaches it.
function quantileMs(a, b, q) {
  const bounds = b.totals.handler_bounds_us;
  const runs = b.totals.handler_buckets.map((n, i) => n - (a.totals.handler_buckets[i] || 0));
  const total = runs.reduce((s, n) => s + n, 0);
  if (total === 0) return 0;
  let seen = 0;
  for (let i = 0; i < runs.length; i++) {
    seen += runs[i];
    if (seen >= q * total) return (i < bounds.length ? bounds[i] : 2 * bounds[bounds.length - 1]) / 1000;
  }
  return 0;
}

function series(pick) {
  const out = [];
  for (let i = 1; i < samples.length; i++) out.push(pick(samples[i - 1], samples[i]));
  return out;
}

// --- drawing --------------------------------------------------------------

function chart(canvas, lines) {
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const max = Math.max(1e-9, ...lines.flat());
  ctx.strokeStyle = '#d8dde3';
  ctx.beginPath(); ctx.moveTo(0, h - 0.5); ctx.lineTo(w, h - 0.5); ctx.stroke();
  ctx.fillStyle = '#6b7480'; ctx.font = '10px sans-serif';
  ctx.fillText(fmt(max), 2, 10);
  const colors = ['--k0', '--k1', '--k2', '--k3'].map((v) => getComputedStyle(document.body).getPropertyValue(v));
  lines.forEach((points, k) => {
    ctx.strokeStyle = colors[k]; ctx.lineWidth = 1.5; ctx.beginPath();
    points.forEach((y, i) => {
      const x = (i / Math.max(1, points.length - 1)) * w;
      const py = h - 2 - (y / max) * (h - 14);
      if (i === 0) ctx.moveTo(x, py); else ctx.lineTo(x, py);
    });
    ctx.stroke();
  });
}

function renderCharts() {
  const t = (name) => (s) => s.totals[name];
  const rates = ['client_received', 'client_sent', 'rpc_received', 'rpc_sent'].map((n) => series((a, b) => perSecond(a, b, t(n))));
  chart($('chart-rates'), rates);
  const errors = series((a, b) => perSecond(a, b, t('errors')));
  chart($('chart-errors'), [errors]);
  const p50 = series((a, b) => quantileMs(a, b, 0.5));
  const p99 = series((a, b) => quantileMs(a, b, 0.99));
  chart($('chart-latency'), [p50, p99]);
  const last = (xs) => (xs.length ? xs[xs.length - 1] : 0);
  $('rates-now').textContent = `now ${rates.map((r) => fmt(last(r))).join(' / ')}`;
  $('errors-now').textContent = `now ${fmt(last(errors))}`;
  $('latency-now').textContent = `now ${fmt(last(p50))} / ${fmt(last(p99))}`;
}

function linkRates(peer) {
  // Messages per second on the links to `peer`, from the last two samples.
  if (samples.length < 2) return [0, 0];
  const [a, b] = samples.slice(-2);
  const sum = (s, f) => s.links.filter((l) => l.peer === peer).reduce((n, l) => n + l[f], 0);
  return ['messages_sent', 'messages_received'].map((f) => perSecond(a, b, (s) => sum(s, f)));
}

function renderMembers(snap) {
  const box = $('members');
  box.replaceChildren();
  const titles = { proxy: 'Proxies', route: 'Routes', service: 'Services', other: 'Others' };
  const roleOf = (m) => (m.type in titles ? m.type : 'other');
  for (const role of Object.keys(titles)) {
    const rows = snap.members.filter((m) => roleOf(m) === role);
    if (!rows.length) continue;
    const body = el('tbody');
    for (const m of rows) {
      const links = snap.links.filter((l) => l.peer === m.id);
      const [out, inn] = linkRates(m.id);
      const linkText = links.length ? `${links.length} lane(s) · ${fmt(out)}/s out · ${fmt(inn)}/s in` : (m.id === snap.node.id ? 'this node' : 'not linked here');
      body.append(el('tr', { 'data-id': m.id }, el('td', {}, m.name || '–'), el('td', {}, el('code', {}, m.id.slice(0, 12))),
        el('td', {}, m.host ? `${m.host}:${m.port}` : '–'), el('td', {}, badge(m.state)), el('td', {}, linkText)));
    }
    box.append(el('h3', {}, `${titles[role]} (${rows.length})`),
      el('table', { class: 'members', 'data-role': role },
        el('thead', {}, el('tr', {}, ...['name', 'id', 'rpc address', 'state', 'links'].map((h) => el('th', {}, h)))), body));
  }
  if (!box.children.length) box.append(el('p', { class: 'muted' }, 'No members known yet (a node learns them through routes).'));
}

function renderLinks(snap) {
  const body = $('links').querySelector('tbody');
  body.replaceChildren();
  for (const l of snap.links) {
    const [out, inn] = linkRates(l.peer);
    const state = l.draining ? 'draining' : 'active';
    body.append(el('tr', {}, el('td', {}, el('code', {}, l.peer.slice(0, 12))), el('td', {}, l.type), el('td', {}, l.direction),
      el('td', {}, `${l.lane + 1}/${l.lanes}`), el('td', {}, l.remote), el('td', {}, fmt(out / Math.max(1, l.lanes))),
      el('td', {}, fmt(inn / Math.max(1, l.lanes))), el('td', {}, badge(state))));
  }
}

function diffText(r) {
  if (!r.diff) return [r.error || 'failed', ...r.problems].join('\n  ');
  const d = r.diff;
  const peers = (what, list) => list.map((p) => `${what} ${p.type} ${p.host}:${p.port}`);
  const lines = [...peers('+ dial', d.added), ...peers('- drop', d.removed), ...peers('~ redial', d.reconnected)];
  if (d.routes_changed) lines.push('~ rpc.route replaced');
  if (d.no_state_changed) lines.push('~ websocket.no_state replaced');
  if (d.restart_required.length) lines.push(`! needs a restart: ${d.restart_required.join(', ')}`);
  if (d.jobs) lines.push(`~ ${d.jobs}`);
  return (lines.length ? lines : ['no change']).join('\n  ');
}

function renderReloads(snap) {
  const list = $('reloads');
  list.replaceChildren();
  for (const r of snap.reloads) {
    list.append(el('li', { 'data-result': r.result }, el('strong', {}, r.result), ' ',
      el('span', { class: 'muted' }, new Date(r.at_ms).toLocaleString()), el('pre', {}, `  ${diffText(r)}`)));
  }
  if (!snap.reloads.length) list.append(el('li', { class: 'muted' }, snap.reload_source ? `none yet (source: ${snap.reload_source})` : 'this node has no config source to reload'));
}

function render(snap) {
  nodeName = snap.node.name;
  $('node-title').textContent = `${snap.node.name} · ${snap.node.type} · ${snap.node.id}`;
  $('node-state').replaceChildren(badge(snap.node.draining ? 'draining' : 'active'));
  $('sessions').textContent = snap.node.sessions;
  $('users').textContent = snap.node.users;
  $('groups').textContent = snap.node.groups;
  $('in-flight').textContent = snap.node.in_flight;
  renderCharts();
  renderMembers(snap);
  renderLinks(snap);
  renderReloads(snap);
}

// --- polling, sign-in -------------------------------------------------------

async function poll() {
  try {
    const { ok, status, data } = await api('GET', '/console/api/snapshot');
    if (!ok) throw new Error(`snapshot: ${status} ${(data && data.msg) || ''}`);
    samples.push(data);
    if (samples.length > KEEP) samples.shift();
    render(data);
    $('console').dataset.samples = samples.length;
    $('status').textContent = `updated ${new Date(data.at_ms).toLocaleTimeString()}`;
    $('status').className = 'muted';
  } catch (err) {
    if (err instanceof AuthError) return signOut(err.message);
    $('status').textContent = `unreachable: ${err.message}`;
    $('status').className = 'error';
  }
}

function signedIn() {
  $('sign-in').hidden = true;
  $('console').hidden = false;
  $('sign-out').hidden = false;
  clearInterval(timer);
  poll();
  timer = setInterval(poll, POLL_MS);
}

function signOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(timer);
  samples = [];
  $('console').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = why || '';
  $('status').textContent = 'signed out';
}

// --- actions, each confirmed ------------------------------------------------

function confirmAction(text) {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}

async function act(question, method, path, body) {
  if (!(await confirmAction(question))) {
    $('action-result').textContent = 'cancelled';
    return;
  }
  try {
    const { status, data } = await api(method, path, body);
    $('action-result').textContent = `${status}\n${JSON.stringify(data, null, 2)}`;
  } catch (err) {
    if (err instanceof AuthError) return signOut(err.message);
    $('action-result').textContent = `failed: ${err.message}`;
  }
  poll();
}

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value);
    $('token').value = '';
    $('sign-in-error').textContent = '';
    signedIn();
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('reload').addEventListener('click', () =>
    act(`Reload ${nodeName}'s config from its source? Valid changes apply at once.`, 'POST', '/update_remote_rpc_config'));
  $('drain').addEventListener('click', () => {
    const grace = Number($('drain-grace').value);
    act(`Drain ${nodeName}? It takes no new work, finishes what is in flight within ${grace} s, then stops.`,
      'POST', `/drain?grace=${encodeURIComponent(grace)}`);
  });
  $('kick').addEventListener('click', () => {
    const session = $('kick-session').value.trim();
    const uid = $('kick-uid').value.trim();
    const reason = $('kick-reason').value.trim() || undefined;
    if (!session === !uid) {
      $('action-result').textContent = 'give a session id or a user id (one of them)';
      return;
    }
    const body = session ? { session, reason } : { uid, reason };
    act(`Kick ${session ? `session ${session}` : `every session of user ${uid}`}?`, 'POST', '/sessions/kick', body);
  });
  if (token()) signedIn();
});
