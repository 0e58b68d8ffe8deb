// Playground: send a chat to any model through the gateway (as a real caller would, with a
// virtual key when keys are in use) and watch the answer stream in.

import { api, h, playKey, errorBox } from "../api.js";

export async function render(root) {
  const models = await api("/v1/models", { auth: playKey.get() || undefined }).catch(() => ({ data: [] }));
  const model = h("input", { name: "model", list: "play-models", value: (models.data[0] || { id: "auto" }).id });
  const list = h("datalist", { id: "play-models" }, models.data.map((m) => h("option", { value: m.id })));
  const key = h("input", { name: "key", type: "password", value: playKey.get(), placeholder: "sk-gw-… (empty when the gateway is open)" });
  const system = h("input", { name: "system", placeholder: "You are a helpful assistant." });
  const prompt = h("textarea", { name: "prompt" }, "Say hello in five words.");
  const out = h("div.stream", { "data-testid": "answer", "aria-live": "polite" });
  const meta = h("p.muted", { "data-testid": "answer-meta" });
  const send = h("button", { type: "submit" }, "Send");
  const go = async (ev) => {
    ev.preventDefault();
    send.disabled = true;
    out.textContent = "";
    meta.textContent = "";
    if (key.value) playKey.set(key.value.trim());
    const messages = [];
    if (system.value.trim()) messages.push({ role: "system", content: system.value });
    messages.push({ role: "user", content: prompt.value });
    const started = performance.now();
    try {
      const headers = { "Content-Type": "application/json" };
      if (key.value.trim()) headers.Authorization = `Bearer ${key.value.trim()}`;
      const resp = await fetch("/v1/chat/completions", {
        method: "POST",
        headers,
        body: JSON.stringify({ model: model.value, messages, stream: true, stream_options: { include_usage: true } }),
      });
      if (!resp.ok) {
        const err = await resp.json().catch(() => ({}));
        throw new Error((err.error && err.error.message) || `${resp.status}`);
      }
      const served = resp.headers.get("x-request-id");
      const reader = resp.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      let first = null;
      let usage = null;
      let servedBy = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") continue;
          const chunk = JSON.parse(data);
          servedBy = chunk.model || servedBy;
          if (chunk.usage) usage = chunk.usage;
          const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
          if (delta && delta.content) {
            if (first === null) first = performance.now() - started;
            out.textContent += delta.content;
          }
        }
      }
      meta.replaceChildren(
        `${servedBy} · first token ${Math.round(first ?? 0)} ms · total ${Math.round(performance.now() - started)} ms`,
        usage ? ` · ${usage.prompt_tokens} in / ${usage.completion_tokens} out` : "",
        " · ",
        served ? h("a", { href: `#request/${encodeURIComponent(served)}` }, served) : "",
      );
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
    send.disabled = false;
  };
  root.append(
    h("h1", {}, "Playground"),
    h("form.card", { onsubmit: go }, h("div.row", {}, h("label", {}, "Model", model, list), h("label", {}, "Virtual key", key)), h("label", {}, "System", system), h("label", {}, "Message", prompt), send),
    out,
    meta,
  );
}
