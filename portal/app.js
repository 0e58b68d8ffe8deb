// The portal's shell: sign-in, the navigation, and a screen per location hash
// (#overview, #providers, #keys, #requests, #request/<id>, #simulator, #playground, #config).

import { api, token, h, errorBox } from "./api.js";

const SCREENS = {
  overview: () => import("./screens/overview.js"),
  providers: () => import("./screens/providers.js"),
  keys: () => import("./screens/keys.js"),
  requests: () => import("./screens/requests.js"),
  request: () => import("./screens/requests.js"),
  simulator: () => import("./screens/simulator.js"),
  playground: () => import("./screens/playground.js"),
  config: () => import("./screens/config.js"),
};

const $ = (id) => document.getElementById(id);

async function show() {
  const screen = $("screen");
  if (!token.get()) {
    $("login").hidden = false;
    $("logout").hidden = true;
    screen.replaceChildren();
    $("login-token").focus();
    return;
  }
  $("login").hidden = true;
  $("logout").hidden = false;
  const [name, ...rest] = (location.hash.slice(1) || "overview").split("/");
  const load = SCREENS[name] || SCREENS.overview;
  for (const a of document.querySelectorAll("#nav a[data-screen]")) {
    a.classList.toggle("active", a.dataset.screen === name || (name === "request" && a.dataset.screen === "requests"));
  }
  screen.replaceChildren(h("p.muted", {}, "Loading…"));
  screen.dataset.screen = name;
  try {
    const mod = await load();
    const root = h("section.screen", { "data-testid": `screen-${name}` });
    await mod.render(root, rest.map(decodeURIComponent), name);
    screen.replaceChildren(root);
  } catch (e) {
    if (e.status === 401) {
      token.clear();
      $("login-error").textContent = "The admin token was refused; sign in again.";
      return show();
    }
    screen.replaceChildren(errorBox(e));
  }
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const candidate = $("login-token").value.trim();
  try {
    await api("/admin/config", { auth: candidate });
    token.set(candidate);
    $("login-error").textContent = "";
    $("login-token").value = "";
    show();
  } catch (e) {
    $("login-error").textContent = e.status === 401 ? "That is not the admin token." : e.message;
  }
});

$("logout").addEventListener("click", () => {
  token.clear();
  show();
});

window.addEventListener("hashchange", show);
show();
