// The interactive API viewer at /docs: reads /openapi.json, lists every operation by tag with
// its parameters, body and answers (schemas drawn as trees), and sends a request from the page
// ("Try it") with the token typed at the top.

import { h } from "./api.js";

const TOKEN = "llmgw.docs-token";
let spec;

function resolve(schema) {
  let s = schema;
  const seen = new Set();
  while (s && s.$ref && !seen.has(s.$ref)) {
    seen.add(s.$ref);
    s = spec.components.schemas[s.$ref.split("/").pop()];
  }
  return s || {};
}

function typeOf(schema) {
  const s = resolve(schema);
  if (schema && schema.$ref) return schema.$ref.split("/").pop();
  if (Array.isArray(s.type)) return s.type.join(" | ");
  if (s.type === "array") return `array of ${typeOf(s.items)}`;
  if (s.oneOf || s.anyOf) return (s.oneOf || s.anyOf).map(typeOf).join(" | ");
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  return s.type || "any";
}

// A schema as nested lists of fields, to a depth of 4.
function tree(schema, depth = 0) {
  const s = resolve(schema);
  const inner = s.type === "array" ? resolve(s.items) : s;
  const props = inner.properties || {};
  const required = new Set(inner.required || []);
  const names = Object.keys(props);
  if (!names.length || depth > 3) return h("code", {}, typeOf(schema));
  return h(
    "ul",
    {},
    names.map((name) => {
      const p = props[name];
      const rp = resolve(p);
      return h(
        "li",
        {},
        h("code", {}, name),
        required.has(name) ? h("strong", {}, " *") : "",
        " ",
        h("span.muted", {}, typeOf(p)),
        rp.description ? h("span", {}, ` — ${rp.description}`) : "",
        rp.properties || (rp.type === "array" && resolve(rp.items).properties) ? tree(p, depth + 1) : "",
      );
    }),
  );
}

// An example value made from a schema (required fields only below the top level).
function example(schema, depth = 0) {
  const s = resolve(schema);
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
  if (s.oneOf || s.anyOf) return example((s.oneOf || s.anyOf)[0], depth);
  switch (t) {
    case "object": {
      const out = {};
      const req = new Set(s.required || []);
      for (const [k, v] of Object.entries(s.properties || {})) {
        if (depth < 3 && (req.has(k) || depth === 0)) out[k] = example(v, depth + 1);
      }
      return out;
    }
    case "array":
      return depth < 3 ? [example(s.items, depth + 1)] : [];
    case "integer":
    case "number":
      return s.minimum ?? 1;
    case "boolean":
      return false;
    case "string":
      return s.format === "date-time" ? new Date().toISOString() : "string";
    default:
      return null;
  }
}

function operation(path, method, op) {
  const params = op.parameters || [];
  const body = op.requestBody && op.requestBody.content;
  const bodyType = body && Object.keys(body)[0];
  const inputs = {};
  const out = h("pre", { hidden: true, "data-testid": "try-answer" });
  const bodyInput =
    bodyType &&
    h(
      "textarea.code",
      { rows: 8 },
      bodyType === "application/json" ? JSON.stringify(example(body[bodyType].schema), null, 2) : "",
    );
  const send = async () => {
    let url = path.replace(/\{(\w+)\}/g, (_, n) => encodeURIComponent(inputs[n].value));
    const q = new URLSearchParams();
    for (const p of params.filter((p) => p.in === "query")) if (inputs[p.name].value) q.set(p.name, inputs[p.name].value);
    if ([...q].length) url += `?${q}`;
    const headers = {};
    const t = document.getElementById("token").value.trim();
    if (t) headers.Authorization = `Bearer ${t}`;
    if (bodyInput) headers["Content-Type"] = bodyType;
    out.hidden = false;
    out.textContent = `${method.toUpperCase()} ${url} …`;
    try {
      const resp = await fetch(url, { method: method.toUpperCase(), headers, body: bodyInput ? bodyInput.value : undefined });
      let text = await resp.text();
      try {
        text = JSON.stringify(JSON.parse(text), null, 2);
      } catch {}
      out.textContent = `${resp.status} ${resp.statusText}\n\n${text}`;
    } catch (e) {
      out.textContent = String(e);
    }
  };
  const secured = (op.security || []).some((r) => Object.keys(r).length);
  return h(
    "details.op",
    { "data-op": `${method.toUpperCase()} ${path}` },
    h(
      "summary",
      {},
      h(`span.method.${method}`, {}, method),
      h("code", {}, path),
      h("span", {}, op.summary || ""),
      secured ? h("span.lock", {}, Object.keys(op.security.find((r) => Object.keys(r).length))[0]) : "",
    ),
    h(
      "div.body",
      {},
      op.description ? h("p", {}, op.description) : "",
      params.length
        ? [
            h("h2", {}, "Parameters"),
            h(
              "div.row",
              {},
              params.map((p) => {
                inputs[p.name] = h("input", { placeholder: typeOf(p.schema) });
                return h("label", {}, `${p.name} (${p.in}${p.required ? ", required" : ""})`, inputs[p.name], p.description ? h("span.muted", {}, p.description) : "");
              }),
            ),
          ]
        : "",
      body ? [h("h2", {}, `Body (${bodyType})`), bodyType === "application/json" ? tree(body[bodyType].schema) : "", bodyInput] : "",
      h("h2", {}, "Answers"),
      h(
        "ul",
        {},
        Object.entries(op.responses || {}).map(([code, r]) => {
          const c = r.content && Object.entries(r.content)[0];
          return h("li", {}, h("strong", {}, code), ` ${r.description || ""} `, c ? h("span.muted", {}, `(${c[0]})`) : "", c && c[0] === "application/json" ? tree(c[1].schema) : "");
        }),
      ),
      h("button", { type: "button", onclick: send }, "Try it"),
      out,
    ),
  );
}

function render() {
  const filter = document.getElementById("filter").value.toLowerCase();
  const byTag = new Map((spec.tags || []).map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const tag = (op.tags || ["other"])[0];
      const hay = `${method} ${path} ${op.summary || ""} ${tag}`.toLowerCase();
      if (filter && !hay.includes(filter)) continue;
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(path, method, op));
    }
  }
  const about = new Map((spec.tags || []).map((t) => [t.name, t.description]));
  document.getElementById("ops").replaceChildren(
    ...[...byTag].filter(([, ops]) => ops.length).map(([tag, ops]) => h("section", { "data-tag": tag }, h("h2", {}, tag), about.get(tag) ? h("p.muted", {}, about.get(tag)) : "", ops)),
  );
}

async function main() {
  spec = await (await fetch("/openapi.json")).json();
  document.getElementById("title").textContent = `${spec.info.title} ${spec.info.version} — API`;
  document.getElementById("about").textContent = spec.info.description || "";
  const t = document.getElementById("token");
  t.value = sessionStorage.getItem(TOKEN) || sessionStorage.getItem("llmgw.admin") || "";
  t.addEventListener("change", () => sessionStorage.setItem(TOKEN, t.value));
  document.getElementById("filter").addEventListener("input", render);
  render();
}

main();
