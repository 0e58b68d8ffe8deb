// Config: the running configuration (secrets masked) and a check of a new one — validated as a
// reload would, applying nothing — with the option to apply it.

import { api, h, errorBox, token } from "../api.js";

export async function render(root) {
  const running = await api("/admin/config");
  const text = h("textarea.code", { name: "config", spellcheck: "false" }, running.toml);
  const result = h("div", { "data-testid": "config-result", role: "status" });
  const call = async (path, method) => {
    try {
      // The admin token is the one signed in with (the page shows it masked).
      const body = text.value.replace(/^(\s*admin_token\s*=\s*)"\*\*\*"/m, (_, k) => `${k}${JSON.stringify(token.get())}`);
      const r = await api(path, { method, body, type: "application/toml" });
      const changed = r.changed.length ? r.changed.join(", ") : "nothing";
      const restart = r.restart_needed.length ? ` Restart to apply: ${r.restart_needed.join(", ")}.` : "";
      result.replaceChildren(h("p.ok", {}, `${method === "PUT" ? "Applied" : "Valid"}: changes ${changed}.${restart}`));
    } catch (e) {
      result.replaceChildren(errorBox(e));
    }
  };
  root.append(
    h("h1", {}, "Configuration"),
    h("p.muted", {}, "The running configuration, secrets shown as ***. Edit it to check a change: the admin token is the one you signed in with, a *** left for a provider key keeps the running one; [key_map] keys must be given in full."),
    text,
    h("div.row", {}, h("button", { type: "button", onclick: () => call("/admin/config/validate", "POST") }, "Validate"), h("button.quiet", { type: "button", onclick: () => call("/admin/config", "PUT") }, "Apply")),
    result,
  );
}
