// Requests: the record log with filters and paging; a request's detail with its routing trace
// (candidates, each layer's eliminations, every attempt and failover), timings, cost and
// bodies when stored.

import { api, h, table, fmt } from "../api.js";

const FILTERS = ["model", "status", "key"];

export async function render(root, params, name) {
  if (name === "request" && params[0]) return detail(root, params[0]);
  const saved = JSON.parse(sessionStorage.getItem("llmgw.filters") || "{}");
  const inputs = Object.fromEntries(FILTERS.map((f) => [f, h("input", { name: f, value: saved[f] || "" })]));
  const list = h("div");
  let cursor = null;
  const more = h("button.quiet", { type: "button", hidden: true }, "Older");
  const load = async (append) => {
    const q = new URLSearchParams({ limit: "50" });
    for (const f of FILTERS) if (inputs[f].value.trim()) q.set(f, inputs[f].value.trim());
    if (append && cursor) q.set("cursor", cursor);
    const page = await api(`/v1/requests?${q}`);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    const rows = table(
      [
        ["Time", (r) => fmt.time(Date.parse(r.created_at))],
        ["Id", (r) => h("a", { href: `#request/${encodeURIComponent(r.id)}` }, r.id)],
        ["Model", (r) => (r.model_requested && r.model_requested !== r.model ? `${r.model_requested} → ${r.model || "–"}` : r.model || r.model_requested || "–")],
        ["Provider", (r) => r.provider || "–"],
        ["Status", (r) => h(`span.badge.${r.status < 400 ? "ok" : "error"}`, {}, r.status)],
        ["Tokens in/out", (r) => `${fmt.num(r.input_tokens)} / ${fmt.num(r.output_tokens)}`],
        ["Cost", (r) => fmt.usd(r.cost_usd)],
        ["Latency", (r) => fmt.ms(r.latency_ms)],
        ["Attempts", (r) => `${r.attempts}${r.failovers ? ` (${r.failovers} failover)` : ""}`],
        ["Cache", (r) => r.cache_status || "–"],
      ],
      page.data,
      { testid: "requests", empty: "No requests match." },
    );
    if (append) list.append(rows);
    else list.replaceChildren(rows);
  };
  more.addEventListener("click", () => load(true));
  const filter = (ev) => {
    ev.preventDefault();
    sessionStorage.setItem("llmgw.filters", JSON.stringify(Object.fromEntries(FILTERS.map((f) => [f, inputs[f].value]))));
    load(false);
  };
  root.append(
    h("h1", {}, "Requests"),
    h("form.row.card", { onsubmit: filter }, h("label", {}, "Model", inputs.model), h("label", {}, "Status", inputs.status), h("label", {}, "Key id", inputs.key), h("button", { type: "submit" }, "Filter")),
    list,
    more,
  );
  await load(false);
}

async function detail(root, id) {
  const [rec, audit] = await Promise.all([
    api(`/v1/requests/${encodeURIComponent(id)}`),
    api(`/v1/audit/${encodeURIComponent(id)}`).catch(() => null),
  ]);
  const d = (audit && audit.decision) || {};
  const kv = (pairs) => h("table", {}, h("tbody", {}, pairs.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))));
  root.append(
    h("p", {}, h("a", { href: "#requests" }, "← Requests")),
    h("h1", {}, `Request ${rec.id}`),
    h(
      "div.grid",
      {},
      h("div.card", {}, h("h2", {}, "Outcome"), kv([
        ["Status", h(`span.badge.${rec.status < 400 ? "ok" : "error"}`, {}, rec.status)],
        ["Error", rec.error || "–"],
        ["Endpoint", rec.endpoint],
        ["Model requested", rec.model_requested || "–"],
        ["Served by", rec.provider ? `${rec.provider}/${rec.model}` : "–"],
        ["Key / team", `${rec.key_id || "–"} / ${rec.team_id || "–"}`],
        ["Stream", rec.stream ? "yes" : "no"],
        ["Cache", rec.cache_status || "–"],
      ])),
      h("div.card", {}, h("h2", {}, "Timings and cost"), kv([
        ["Time", fmt.time(Date.parse(rec.created_at))],
        ["Latency", fmt.ms(rec.latency_ms)],
        ["Time to first token", fmt.ms(rec.ttft_ms)],
        ["Tokens in / out / cached", `${fmt.num(rec.input_tokens)} / ${fmt.num(rec.output_tokens)} / ${fmt.num(rec.cached_tokens)}`],
        ["Cost", fmt.usd(rec.cost_usd)],
        ["Attempts / failovers", `${rec.attempts} / ${rec.failovers}`],
      ])),
    ),
    h("h2", {}, "Routing trace"),
    h(
      "ol.steps",
      { "data-testid": "trace" },
      h("li", {}, h("strong", {}, "Candidates"), " ", (d.candidates || []).length ? h("ul.chain", {}, d.candidates.map((c) => h("li", {}, c))) : "–", d.profile ? h("p.muted", {}, `Profile: ${d.profile}`) : ""),
      (d.compliance || []).length ? h("li", {}, h("strong", {}, "Compliance"), h("ul", {}, d.compliance.map((c) => h("li", {}, `${c.detector} (${c.direction}): ${c.action}`)))) : "",
      h("li", {}, h("strong", {}, "Eliminated"), (d.eliminated || []).length ? h("ul", {}, d.eliminated.map((e) => h("li", {}, h("code", {}, e.model), ` — ${e.layer || "routing"}: ${e.reason}`))) : h("span.muted", {}, " none")),
      h("li", {}, h("strong", {}, "Attempts"), (d.steps || []).length ? h("ul", {}, d.steps.map((s) => h("li", {}, h("code", {}, s.candidate || "–"), ` ${s.action}: ${s.outcome}${s.status ? ` (${s.status})` : ""}${s.latency_ms !== undefined ? `, ${s.latency_ms} ms` : ""}`))) : h("span.muted", {}, d.cache ? ` answered from the cache (${d.cache})` : " none")),
    ),
    h("h2", {}, "Bodies"),
    rec.request_body === undefined && rec.response_body === undefined
      ? h("p.muted", {}, "Not stored (set [database] store_bodies = true to keep them).")
      : h("div.grid", {}, h("div", {}, h("h2", {}, "Request"), h("pre", {}, JSON.stringify(rec.request_body, null, 2))), h("div", {}, h("h2", {}, "Response"), h("pre", {}, typeof rec.response_body === "string" ? rec.response_body : JSON.stringify(rec.response_body, null, 2)))),
  );
}
