// Providers and models: each provider's health and replicas, every circuit breaker with a
// reset, the catalog with prices and scores, and catalog sync with its last-synced time.

import { api, h, table, fmt, errorBox } from "../api.js";

export async function render(root) {
  const [providers, backends, catalog, sync] = await Promise.all([
    api("/admin/providers"),
    api("/admin/backends"),
    api("/v1/catalog"),
    api("/v1/catalog/sync-status"),
  ]);
  const note = h("p", { role: "status" });
  const reset = async (name) => {
    try {
      const r = await api(`/admin/backends/${encodeURIComponent(name)}/reset`, { method: "POST" });
      note.textContent = `Closed ${r.reset} circuit(s) of ${r.name}.`;
      root.replaceChildren();
      await render(root);
    } catch (e) {
      note.replaceChildren(errorBox(e));
    }
  };
  const syncNow = async (ev) => {
    ev.target.disabled = true;
    try {
      const r = await api("/v1/catalog/sync", { method: "POST" });
      note.textContent = r.data.map((p) => `${p.provider}: +${p.added} −${p.retired}${p.error ? ` (${p.error})` : ""}`).join("; ") || "Nothing to sync.";
    } catch (e) {
      note.replaceChildren(errorBox(e));
    }
    ev.target.disabled = false;
  };
  root.append(
    h("h1", {}, "Providers and models"),
    note,
    h("h2", {}, "Providers"),
    table(
      [
        ["Provider", (p) => h("strong", {}, p.id)],
        ["Type", (p) => `${p.provider_type} (${p.api_format})`],
        ["Endpoint", (p) => h("code", {}, p.endpoint)],
        ["Health", (p) => h(`span.badge.${p.usable ? "healthy" : "unhealthy"}`, {}, p.usable ? "usable" : "unusable")],
        ["Models", (p) => fmt.num(p.models)],
        ["Replicas", (p) => (p.replicas ? p.replicas.map((r) => h(`span.badge.${r.healthy ? "healthy" : "unhealthy"}`, { title: r.url }, r.address)) : "–")],
      ],
      providers.providers,
      { testid: "providers" },
    ),
    h("h2", {}, "Circuit breakers"),
    table(
      [
        ["Deployment", (b) => h("code", {}, b.key)],
        ["State", (b) => h(`span.badge.${b.state}`, { "data-testid": `state-${b.key}` }, b.state.replace("_", "-"))],
        ["Failures (window / total)", (b) => `${b.failures_in_window} / ${b.total_failures}`],
        ["Successes", (b) => fmt.num(b.total_successes)],
        ["Last error", (b) => b.last_error || "–"],
        ["Retry in", (b) => (b.retry_after_secs === null ? "–" : `${b.retry_after_secs} s`)],
        ["", (b) => (b.state === "closed" ? "" : h("button.quiet", { type: "button", "data-reset": b.key, onclick: () => reset(b.key) }, "Reset"))],
      ],
      backends.backends,
      { testid: "breakers", empty: "No circuit has seen traffic yet." },
    ),
    h("div.row", {}, h("h2", {}, `Catalog (${catalog.data.length} models)`), h("span.muted", { "data-testid": "last-synced" }, `Last synced: ${sync.last_synced ? fmt.time(Date.parse(sync.last_synced)) : "never"}`), h("button.quiet", { type: "button", onclick: syncNow }, "Sync now")),
    table(
      [
        ["Model", (m) => h("code", {}, `${m.provider}/${m.id}`)],
        ["Input $/Mtok", (m) => (m.price_known ? m.input_price_per_mtok : "?")],
        ["Output $/Mtok", (m) => (m.price_known ? m.output_price_per_mtok : "?")],
        ["Context", (m) => fmt.num(m.context_window)],
        ["Capabilities", (m) => m.capabilities.join(", ")],
        ["Coding / reasoning", (m) => `${m.quality.coding ?? "–"} / ${m.quality.reasoning ?? "–"}`],
        ["Max class", (m) => m.max_classification],
      ],
      catalog.data,
      { testid: "catalog" },
    ),
  );
}
