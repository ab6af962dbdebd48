// Where the pages connect. Defaults suit `espoir up configs/local` (proxy
// websocket 30000, betting admin API 32001) on the host that served the
// page, with TLS when the page came over HTTPS (a browser refuses ws://
// and http:// from an https:// page); query parameters override them:
//   ?ws=ws://host:port      the proxy's websocket (wss:// with TLS)
//   &gm=http://host:port    the betting service's HTTP port (admin page)
//   &token=…                websocket.token, when the proxy has encode: 1
//   &maxDelay=ms            longest reconnect delay (tests shorten it)

const query = new URLSearchParams(location.search);
const host = location.hostname || "127.0.0.1";
const secure = location.protocol === "https:";

export const settings = {
  ws: query.get("ws") || `${secure ? "wss" : "ws"}://${host}:30000`,
  gm: query.get("gm") || `${secure ? "https" : "http"}://${host}:32001`,
  token: query.get("token") || null,
  maxDelay: Number(query.get("maxDelay")) || 15000,
};

/** Client options for these settings. */
export function clientOptions() {
  return {
    encrypt: Boolean(settings.token),
    token: settings.token,
    maxDelay: settings.maxDelay,
  };
}

/** `iGuessState` names (docs/betting.md). */
export { MATCH_STATES as STATES } from "./espoir-betting.js";

/** Creates an element: el("p", {class: "x"}, "text", child…). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function when(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}
