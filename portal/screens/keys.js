// Keys and teams: create a key (its secret shown once), limits, budgets and spend, revoke;
// create and delete teams.

import { api, h, table, fmt, errorBox, playKey } from "../api.js";

export async function render(root) {
  const [keys, teams, spend] = await Promise.all([api("/admin/keys"), api("/admin/teams"), api("/admin/spend")]);
  const spentBy = new Map(spend.by_key.map((s) => [s.key_id, s.spend_usd]));
  const teamSpent = new Map(spend.by_team.map((s) => [s.team_id, s.spend_usd]));
  const reload = async () => {
    root.replaceChildren();
    await render(root);
  };
  const created = h("div", { "data-testid": "created" });
  const f = {
    name: h("input", { name: "name", required: true, placeholder: "billing-service" }),
    team: h("select", { name: "team" }, h("option", { value: "" }, "(none)"), teams.data.map((t) => h("option", { value: t.id }, t.name))),
    models: h("input", { name: "models", placeholder: "gpt-4o*, fast-pool (empty: all)" }),
    rpm: h("input", { name: "rpm", type: "number", min: 0 }),
    tpm: h("input", { name: "tpm", type: "number", min: 0 }),
    budget: h("input", { name: "max_budget_usd", type: "number", min: 0, step: "0.01" }),
    period: h("select", { name: "budget_period" }, ["monthly", "weekly", "daily", "total"].map((p) => h("option", { value: p }, p))),
  };
  const create = async (ev) => {
    ev.preventDefault();
    const body = { name: f.name.value.trim() };
    if (f.team.value) body.team = f.team.value;
    const models = f.models.value.split(",").map((s) => s.trim()).filter(Boolean);
    if (models.length) body.models = models;
    const limits = {};
    if (f.rpm.value) limits.rpm = Number(f.rpm.value);
    if (f.tpm.value) limits.tpm = Number(f.tpm.value);
    if (Object.keys(limits).length) body.limits = limits;
    if (f.budget.value) {
      body.max_budget_usd = Number(f.budget.value);
      body.budget_period = f.period.value;
    }
    try {
      const k = await api("/admin/keys", { method: "POST", body });
      playKey.set(k.key);
      await reload();
      root.querySelector('[data-testid="created"]').replaceChildren(
        h("p", {}, `Key “${k.name}” (${k.id}) created. Copy its secret now: it is not shown again.`),
        h("div.secret", { "data-testid": "new-secret" }, k.key),
        h("p.muted", {}, "The playground uses this key until you close the tab."),
      );
    } catch (e) {
      created.replaceChildren(errorBox(e));
    }
  };
  const revoke = async (k) => {
    if (!confirm(`Revoke “${k.name}”? Requests with it are refused at once.`)) return;
    await api(`/admin/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
    await reload();
  };
  const teamName = h("input", { name: "team-name", required: true, placeholder: "platform" });
  const teamBudget = h("input", { type: "number", min: 0, step: "0.01", name: "team-budget" });
  const createTeam = async (ev) => {
    ev.preventDefault();
    const body = { name: teamName.value.trim() };
    if (teamBudget.value) Object.assign(body, { max_budget_usd: Number(teamBudget.value), budget_period: "monthly" });
    try {
      await api("/admin/teams", { method: "POST", body });
      await reload();
    } catch (e) {
      created.replaceChildren(errorBox(e));
    }
  };
  const limits = (l) => Object.entries(l).map(([k, v]) => `${k} ${fmt.num(v)}`).join(", ") || "–";
  const budget = (max, period, spent) => (max === null ? `${fmt.usd(spent || 0)} spent` : `${fmt.usd(spent || 0)} of ${fmt.usd(max)} ${period || ""}`);
  root.append(
    h("h1", {}, "Keys and teams"),
    h(
      "form.card",
      { onsubmit: create, "data-testid": "create-key" },
      h("h2", {}, "New key"),
      h("div.row", {}, h("label", {}, "Name", f.name), h("label", {}, "Team", f.team), h("label", {}, "Models", f.models)),
      h("div.row", {}, h("label", {}, "Requests/min", f.rpm), h("label", {}, "Tokens/min", f.tpm), h("label", {}, "Budget (USD)", f.budget), h("label", {}, "Period", f.period), h("button", { type: "submit" }, "Create key")),
      created,
    ),
    h("h2", {}, `Keys (${keys.data.length})`),
    table(
      [
        ["Name", (k) => h("strong", {}, k.name)],
        ["Id", (k) => h("code", {}, k.id)],
        ["Secret", (k) => h("code", {}, k.key_hint)],
        ["Team", (k) => k.team || "–"],
        ["Models", (k) => (k.models.length ? k.models.join(", ") : "all")],
        ["Limits", (k) => limits(k.limits)],
        ["Budget and spend", (k) => budget(k.max_budget_usd, k.budget_period, spentBy.get(k.id))],
        ["Last used", (k) => (k.last_used_at ? fmt.time(Date.parse(k.last_used_at)) : "never")],
        ["", (k) => h("button.danger", { type: "button", onclick: () => revoke(k), "data-revoke": k.id }, "Revoke")],
      ],
      keys.data,
      { testid: "keys", empty: "No virtual keys yet: the gateway is open unless [key_map] or [jwt] is set." },
    ),
    h("h2", {}, "Teams"),
    h("form.row", { onsubmit: createTeam }, h("label", {}, "New team", teamName), h("label", {}, "Monthly budget (USD)", teamBudget), h("button", { type: "submit" }, "Create team")),
    table(
      [
        ["Name", (t) => h("strong", {}, t.name)],
        ["Id", (t) => h("code", {}, t.id)],
        ["Budget and spend", (t) => budget(t.max_budget_usd, t.budget_period, teamSpent.get(t.id))],
        ["Created", (t) => fmt.time(Date.parse(t.created_at))],
        ["", (t) => h("button.quiet", { type: "button", onclick: async () => { await api(`/admin/teams/${encodeURIComponent(t.id)}`, { method: "DELETE" }); await reload(); } }, "Delete")],
      ],
      teams.data,
      { testid: "teams", empty: "No teams yet." },
    ),
    h("h2", {}, "Spend by model"),
    table([["Model", (s) => s.model], ["Requests", (s) => fmt.num(s.requests)], ["Spend", (s) => fmt.usd(s.spend_usd)]], spend.by_model, { testid: "spend" }),
  );
}
