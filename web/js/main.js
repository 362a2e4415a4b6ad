// The page's router: #/signin, #/signup, #/jobs, #/jobs/<id>, #/keys.

import { Api } from "./api.js";
import { claims, current, signOut } from "./auth.js";
import { loadConfig } from "./config.js";
import { h, replace } from "./dom.js";
import { jobView } from "./views/job.js";
import { jobsView } from "./views/jobs.js";
import { keysView } from "./views/keys.js";
import { signInView } from "./views/signin.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let cleanup = () => {};

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function signedOut() {
  signOut();
  go("#/signin");
}

function showUser() {
  const tokens = current();
  nav.hidden = !tokens;
  const who = document.getElementById("who");
  who.textContent = tokens ? (claims(tokens.idToken).email || tokens.username || "") : "";
}

let context = null;

function route() {
  cleanup();
  cleanup = () => {};
  const hash = location.hash || "#/jobs";
  const [, section, id] = hash.split("/");
  const signedIn = Boolean(current());
  showUser();
  if (!signedIn && section !== "signin" && section !== "signup") {
    go("#/signin");
    return;
  }
  if (signedIn && (section === "signin" || section === "signup")) {
    go("#/jobs");
    return;
  }
  for (const link of nav.querySelectorAll("a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${section}`);
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
  if (section === "signin" || section === "signup") {
    cleanup = signInView(main, { ...context, mode: section });
  } else if (section === "keys") {
    cleanup = keysView(main, context);
  } else if (section === "jobs" && id) {
    cleanup = jobView(main, { ...context, jobId: decodeURIComponent(id) });
  } else {
    cleanup = jobsView(main, context);
  }
}

async function start() {
  let config;
  try {
    config = await loadConfig();
  } catch (exc) {
    replace(main, h("h1", {}, "The page cannot start"), h("p", { class: "error" }, exc.message));
    return;
  }
  context = { config, api: new Api(config, signedOut), go };
  document.getElementById("sign-out").addEventListener("click", signedOut);
  window.addEventListener("hashchange", () => {
    route();
    // Screen readers start at the new content, unless the view focused a field itself.
    if (!main.contains(document.activeElement)) main.focus();
  });
  route();
}

start();
