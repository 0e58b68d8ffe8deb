// Routing simulator (seed 001 §4): a profile (with its weights), a data classification,
// required capabilities, a cost cap, a model and a prompt → POST /v1/route; each layer of the
// pipeline as a step with what it eliminated and why, then the chain a real request would try.

import { api, h, errorBox, fmt } from "../api.js";

const CLASSES = ["public", "internal", "cui", "itar", "classified"];
const CAPS = ["tools", "vision", "json_mode", "thinking", "streaming"];

export async function render(root) {
  const profiles = (await api("/v1/routing-profiles")).data;
  const profile = h("select", { name: "profile" }, profiles.map((p) => h("option", { value: p.name, selected: p.default }, p.name)));
  const weights = h("p.muted", { "data-testid": "weights" });
  const showWeights = () => {
    const p = profiles.find((x) => x.name === profile.value);
    weights.textContent = p ? `quality weight ${p.quality_weight}, cost weight ${p.cost_weight}${p.max_ttft_ms ? `, TTFT ≤ ${p.max_ttft_ms} ms` : ""}${p.requires.length ? `, requires ${p.requires.join(", ")}` : ""} — ${p.best_for}` : "";
  };
  profile.addEventListener("change", showWeights);
  showWeights();
  const classification = h("select", { name: "classification" }, CLASSES.map((c) => h("option", { value: c, selected: c === "internal" }, c)));
  const caps = CAPS.map((c) => h("input", { type: "checkbox", value: c, name: `cap-${c}` }));
  const maxCost = h("input", { type: "number", min: 0, step: "0.0001", name: "max_cost_usd", placeholder: "no cap" });
  const model = h("input", { name: "model", value: "auto" });
  const prompt = h("textarea", { name: "prompt" }, "Summarise the attached quarterly report in three bullet points.");
  const out = h("div", { "data-testid": "route-result" });
  const run = async (ev) => {
    ev.preventDefault();
    const body = {
      model: model.value.trim() || "auto",
      messages: [{ role: "user", content: prompt.value }],
      profile: profile.value,
      classification: classification.value,
      capabilities: caps.filter((c) => c.checked).map((c) => c.value),
    };
    if (maxCost.value !== "") body.max_cost_usd = Number(maxCost.value);
    try {
      show(out, await api("/v1/route", { method: "POST", body }));
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  };
  root.append(
    h("h1", {}, "Routing simulator"),
    h("p.muted", {}, "Runs the routing pipeline without calling any provider."),
    h(
      "form.card",
      { onsubmit: run },
      h("div.row", {}, h("label", {}, "Profile", profile), h("label", {}, "Data classification", classification), h("label", {}, "Max cost per request (USD)", maxCost), h("label", {}, "Model", model)),
      weights,
      h("div.row", {}, h("span.muted", {}, "Needs:"), caps.map((c) => h("label", {}, c, c.value))),
      h("label", {}, "Prompt", prompt),
      h("button", { type: "submit" }, "Simulate"),
    ),
    out,
  );
}

function show(out, r) {
  const layers = r.layers.map((l) =>
    h(
      "li",
      { "data-layer": l.layer },
      h("strong", {}, l.layer),
      h("span.muted", {}, ` — ${l.eliminated.length} eliminated, ${l.remaining.length} remaining`),
      l.eliminated.length ? h("ul", {}, l.eliminated.map((e) => h("li", {}, h("code", {}, e.model), `: ${e.reason}`))) : "",
      l.scores ? h("ul.muted", {}, l.scores.slice(0, 6).map((s) => h("li", {}, h("code", {}, s.model), ` ${s.quality !== undefined ? `quality ${s.quality}` : `score ${s.score}, est. ${fmt.usd(s.estimated_cost_usd)}`}`))) : "",
    ),
  );
  out.replaceChildren(
    r.refusal ? h("p.error", { "data-testid": "refusal" }, `A real request would be refused: ${r.refusal.status} ${r.refusal.message}`) : "",
    r.bucket ? h("p", {}, `Bucket: ${r.bucket.bucket} (score ${r.bucket.score})`) : "",
    h("h2", {}, "Layers"),
    r.layers.length ? h("ol.steps", { "data-testid": "layers" }, layers) : h("p.muted", {}, `No pipeline for a named model (${r.model_requested}).`),
    h("h2", {}, "Chain"),
    h("ol.chain", { "data-testid": "chain" }, r.chain.map((c) => h("li", { "data-model": `${c.provider}/${c.model}` }, `${c.provider}/${c.model}`))),
    r.estimated_prompt_tokens !== null ? h("p.muted", {}, `Estimated prompt: ${r.estimated_prompt_tokens} tokens.`) : "",
  );
}
