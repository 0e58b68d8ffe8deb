// Overview: totals, requests and errors over time, latency and TTFT, tokens and cost, top
// models and keys, from GET /v1/analytics and /v1/stats over a chosen range.

import { api, h, fmt } from "../api.js";
import { lineChart, bars } from "../charts.js";

const RANGES = { "1h": [3600, "minute"], "24h": [86400, "hour"], "7d": [7 * 86400, "day"], "30d": [30 * 86400, "day"] };

export async function render(root) {
  const range = sessionStorage.getItem("llmgw.range") || "24h";
  const [secs, bucket] = RANGES[range] || RANGES["24h"];
  const to = Math.floor(Date.now() / 1000) + 60;
  const from = to - secs;
  const [a, errs] = await Promise.all([
    api(`/v1/analytics?from=${from}&to=${to}&bucket=${bucket}`),
    api(`/v1/analytics/errors?from=${from}&to=${to}`),
  ]);
  const picker = h(
    "select",
    { "aria-label": "Range", onchange: (e) => { sessionStorage.setItem("llmgw.range", e.target.value); render(root.replaceChildren() || root); } },
    Object.keys(RANGES).map((r) => h("option", { value: r, selected: r === range }, `Last ${r}`)),
  );
  const t = a.totals;
  const tile = (label, value, id) => h("div.tile", { "data-testid": id }, h("div.label", {}, label), h("div.value", {}, value));
  const at = (row) => Date.parse(row.bucket);
  const series = (field) => a.series.map((r) => [at(r), r[field] ?? 0]);
  root.append(
    h("div.row", {}, h("h1", {}, "Overview"), picker),
    h(
      "div.tiles",
      {},
      tile("Requests", fmt.num(t.requests), "tile-requests"),
      tile("Errors", fmt.num(t.errors), "tile-errors"),
      tile("Failures hidden by failover", fmt.num(errs.totals.mitigated_by_failover), "tile-mitigated"),
      tile("Avg latency", fmt.ms(t.avg_latency_ms), "tile-latency"),
      tile("Avg TTFT", fmt.ms(t.avg_ttft_ms), "tile-ttft"),
      tile("Tokens", fmt.num(t.input_tokens + t.output_tokens), "tile-tokens"),
      tile("Cost", fmt.usd(t.cost_usd), "tile-cost"),
    ),
    a.totals.requests === 0 ? h("p.muted", { "data-testid": "no-data" }, "No requests recorded in this range yet.") : "",
    h(
      "div.grid",
      {},
      lineChart("Requests and errors", [
        { name: "requests", points: series("requests") },
        { name: "errors", points: series("errors") },
      ]),
      lineChart("Latency and TTFT (avg)", [
        { name: "latency", points: series("avg_latency_ms") },
        { name: "TTFT", points: a.series.filter((r) => r.avg_ttft_ms !== null).map((r) => [at(r), r.avg_ttft_ms]) },
      ], { unit: " ms" }),
      lineChart("Tokens", [
        { name: "input", points: series("input_tokens") },
        { name: "output", points: series("output_tokens") },
      ]),
      lineChart("Cost", [{ name: "cost", points: series("cost_usd") }], { unit: " $" }),
      bars("Top models", a.by_model.slice(0, 8).map((r) => ({ label: r.model, value: r.requests })), fmt.num),
      bars("Top keys", a.by_key.slice(0, 8).map((r) => ({ label: r.key_id, value: r.requests })), fmt.num),
      bars("Cost by provider", a.by_provider.slice(0, 8).map((r) => ({ label: r.provider, value: r.cost_usd })), fmt.usd),
      bars("Requesters (x-source)", a.by_source.slice(0, 8).map((r) => ({ label: r.source, value: r.requests })), fmt.num),
    ),
  );
}
