// Calls to the gateway's API with the admin token entered at sign-in (kept in sessionStorage,
// so it leaves with the tab), and small DOM helpers the screens share.

const TOKEN = "llmgw.admin";
const KEY = "llmgw.key";

export const token = {
  get: () => sessionStorage.getItem(TOKEN) || "",
  set: (t) => sessionStorage.setItem(TOKEN, t),
  clear: () => sessionStorage.removeItem(TOKEN),
};

// A virtual key the playground may use (the last one created here, or one typed in).
export const playKey = {
  get: () => sessionStorage.getItem(KEY) || "",
  set: (k) => sessionStorage.setItem(KEY, k),
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// fetch with the admin token; JSON in and out. Throws ApiError with the gateway's message.
export async function api(path, { method = "GET", body, type, auth = token.get() } = {}) {
  const headers = {};
  if (auth) headers["Authorization"] = `Bearer ${auth}`;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = type || "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  const resp = await fetch(path, { method, headers, body: payload });
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!resp.ok) {
    const message = (data && data.error && data.error.message) || `${resp.status} ${resp.statusText}`;
    throw new ApiError(resp.status, message);
  }
  return data;
}

// h("tag.class", {attr: value, onclick: fn}, ...children): an element. Text is never HTML.
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A table of rows; columns are [title, row => cell].
export function table(columns, rows, { empty = "Nothing yet.", testid } = {}) {
  if (!rows.length) return h("p.muted", { "data-testid": testid }, empty);
  return h(
    "table",
    { "data-testid": testid },
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(r)))))),
  );
}

export function errorBox(e) {
  return h("p.error", { role: "alert" }, e instanceof Error ? e.message : String(e));
}

export const fmt = {
  num: (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US")),
  usd: (n) => (n === null || n === undefined ? "–" : `$${Number(n).toFixed(Number(n) < 1 ? 6 : 2)}`),
  ms: (n) => (n === null || n === undefined ? "–" : `${Math.round(n)} ms`),
  time: (ms) => (ms ? new Date(ms).toLocaleString() : "–"),
  pct: (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)} %`),
};
