// API keys for scripts: create (the value is shown once), list, revoke; the usage plan's
// quota and what has been used of it this period.

import { h, localTime, replace } from "../dom.js";

function usagePanel(usage) {
  if (!usage) return h("p", {}, "Usage is not available.");
  const limit = usage.quota?.limit;
  const period = (usage.quota?.period || "period").toLowerCase();
  const rows = [...(usage.keys || [])];
  if (usage.token_requests) rows.push({ ...usage.token_requests, name: "this page (signed in)" });
  return h(
    "div",
    { id: "usage" },
    h(
      "p",
      {},
      limit ? `Each key may make ${limit} requests a ${period}` : "No monthly quota",
      usage.throttle?.rate_limit ? `, at most ${usage.throttle.rate_limit} a second (bursts of ${usage.throttle.burst_limit})` : "",
      usage.period ? `. This period: ${usage.period.start} to ${usage.period.end}.` : ".",
    ),
    rows.length
      ? h(
          "table",
          { id: "usage-table" },
          h("caption", { class: "visually-hidden" }, "Requests used this period"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Used by"), h("th", { scope: "col" }, "Requests"), h("th", { scope: "col" }, "Left"))),
          h(
            "tbody",
            {},
            rows.map((row) =>
              h(
                "tr",
                { "data-key-id": row.key_id },
                h("td", {}, row.name),
                h("td", { class: "num" }, String(row.used), limit ? h("progress", { max: limit, value: Math.min(row.used, limit), "aria-label": `Quota used by ${row.name}` }) : null),
                h("td", { class: "num" }, row.remaining === null || row.remaining === undefined ? "–" : String(row.remaining)),
              ),
            ),
          ),
        )
      : h("p", {}, "No requests yet this period."),
  );
}

function keysTable(keys, onRevoke) {
  if (!keys.length) return h("p", { id: "no-keys" }, "No API keys yet.");
  return h(
    "table",
    { id: "keys-table" },
    h("caption", { class: "visually-hidden" }, "Your API keys"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Key id"), h("th", { scope: "col" }, "Created"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    h(
      "tbody",
      {},
      keys.map((key) => {
        const enabled = key.enabled !== false;
        return h(
          "tr",
          { "data-key-id": key.key_id },
          h("td", { "data-label": "Name" }, key.name || "–"),
          h("td", { "data-label": "Key id" }, h("code", {}, key.key_id)),
          h("td", { "data-label": "Created" }, key.created_at ? localTime(key.created_at) : "–"),
          h("td", { "data-label": "State" }, enabled ? "active" : "revoked"),
          h("td", {}, enabled ? h("button", { type: "button", class: "danger small", "aria-label": `Revoke key ${key.name || key.key_id}`, onclick: () => onRevoke(key) }, "Revoke") : null),
        );
      }),
    ),
  );
}

export function keysView(main, { api, config }) {
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const fresh = h("div", { id: "new-key", "aria-live": "polite" });
  const list = h("div", { id: "keys" }, h("p", {}, "Loading…"));
  const usage = h("div", {}, h("p", {}, "Loading…"));

  const fail = (exc) => {
    error.textContent = exc.message;
    error.hidden = false;
  };
  const load = async () => {
    try {
      const [keys, used] = await Promise.all([api.listKeys(), api.usage()]);
      replace(list, keysTable(keys.keys || [], revoke));
      replace(usage, usagePanel(used));
    } catch (exc) {
      fail(exc);
    }
  };
  const revoke = async (key) => {
    if (!window.confirm(`Revoke the key “${key.name || key.key_id}”? Scripts using it stop working.`)) return;
    try {
      await api.revokeKey(key.key_id);
      replace(fresh);
      await load();
    } catch (exc) {
      fail(exc);
    }
  };

  const form = h(
    "form",
    { class: "inline", id: "create-key" },
    h("div", { class: "field" }, h("label", { for: "key-name" }, "Name"), h("input", { id: "key-name", name: "name", maxlength: 64, required: true, placeholder: "e.g. nightly batch" })),
    h("button", { type: "submit" }, "Create key"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      const created = await api.createKey(form.name.value.trim());
      form.reset();
      replace(
        fresh,
        h(
          "div",
          { class: "card secret" },
          h("p", {}, h("strong", {}, "Copy this key now: "), "it is shown only once."),
          h("label", { for: "new-key-value" }, "API key value"),
          h("input", { id: "new-key-value", readonly: true, value: created.value, class: "mono" }),
          h(
            "p",
            { class: "hint" },
            "Use it from scripts: ",
            h("code", {}, `curl -H "x-api-key: …" ${config.apiUrl}/jobs`),
          ),
        ),
      );
      fresh.querySelector("input").select();
      await load();
    } catch (exc) {
      fail(exc);
    }
  });

  replace(
    main,
    h("h1", {}, "API keys"),
    h("p", {}, "Keys let scripts use the API as you. Their requests count against your quota; your jobs are the same whichever key or sign-in made them."),
    h("section", { class: "card", "aria-labelledby": "usage-title" }, h("h2", { id: "usage-title" }, "Quota and usage"), usage),
    h("section", { class: "card", "aria-labelledby": "keys-title" }, h("h2", { id: "keys-title" }, "Your keys"), form, error, fresh, list),
  );
  load();
  return () => {};
}
