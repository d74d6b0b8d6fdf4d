// Approved WhatsApp templates: outside the 24-hour window the composer turns into this
// picker; inside it the "Template" button opens it. Search, choose, fill the variables (the
// approved samples as placeholders), see exactly what the contact will receive, send.

import { call } from "./api.js";
import { render } from "./conversation.js";
import { $, el, toast } from "./dom.js";
import { composeKey, keepNewest, state } from "./state.js";

const NO_TEMPLATES = "No approved WhatsApp templates for this organization yet.";

/** The `{{name}}` placeholders a template uses, in order: body, media, buttons. */
export function placeholders(template) {
  const texts = [template.body, ...(template.media || []), ...(template.actions || []).flatMap((a) => [a.title, a.value || ""])];
  const found = [];
  for (const text of texts) {
    for (const match of text.matchAll(/\{\{([^{}]*)\}\}/g)) {
      const name = match[1].trim();
      if (name && !found.includes(name)) found.push(name);
    }
  }
  return found;
}

/** The text with each placeholder replaced by `value(name)`. */
export function fill(text, value) {
  return text.replace(/\{\{([^{}]*)\}\}/g, (whole, name) => value(name.trim()) ?? whole);
}

export async function loadTemplates(refresh = false) {
  // Templates belong to the organization: only a switch of user makes an answer stale.
  const token = state.token;
  state.templates = null;
  state.templatesError = null;
  renderTemplates();
  try {
    const answer = await call("GET", `/whatsapp/templates${refresh ? "?refresh=true" : ""}`);
    if (token !== state.token) return;
    state.templates = answer.templates;
  } catch (e) {
    if (token !== state.token) return;
    state.templates = [];
    state.templatesError = e.message;
  }
  renderTemplates();
}

/** Opens (or, inside the window, closes) the picker. */
export function showTemplates(open) {
  state.templatesOpen = open;
  if (!open) chooseTemplate(null);
  renderTemplates();
}

function chooseTemplate(template) {
  state.template = template;
  state.templateValues = {};
}

function renderList() {
  const query = $("template-search").value.trim().toLowerCase();
  const words = query.split(/\s+/).filter(Boolean);
  const matches = (state.templates || []).filter((t) => words.every((w) => `${t.name} ${t.body}`.toLowerCase().includes(w)));
  $("template-list").replaceChildren(
    ...matches.map((t) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "template-choice", "data-sid": t.content_sid, onclick: () => { chooseTemplate(t); renderTemplates(); } },
          el("strong", { text: t.name }),
          el("span", { class: "meta", text: ` ${t.category.toLowerCase()} · ${t.language}` }),
          el("span", { class: "body", text: t.body }),
        ),
      ),
    ),
  );
  if (!matches.length && state.templates && state.templates.length) {
    $("template-list").append(el("li", { class: "empty", text: "No template matches your search." }));
  }
}

function renderPreview() {
  const t = state.template;
  const value = (name) => {
    const given = state.templateValues[name];
    return given && given.trim() ? given : `[${t.variables[name] ?? name}]`;
  };
  const media = (t.media || []).map((url) => {
    const filled = fill(url, value);
    return el("p", { class: "preview-media", text: `Media: ${filled.split("/").pop()}` });
  });
  const actions = (t.actions || []).map((a) => el("span", { class: "preview-button", text: fill(a.title, value) }));
  const buttons = actions.length ? [el("div", { class: "preview-buttons" }, ...actions)] : [];
  $("template-preview").replaceChildren(...media, el("p", { class: "preview-text", text: fill(t.body, value) }), ...buttons);
}

function renderForm() {
  const t = state.template;
  $("template-name").textContent = t.name;
  const fields = placeholders(t).map((name) => {
    const id = `template-var-${name}`;
    const input = el("input", {
      id,
      type: "text",
      placeholder: t.variables[name] || "",
      "data-variable": name,
      maxlength: "1024",
      oninput: (event) => {
        state.templateValues[name] = event.target.value;
        renderPreview();
      },
    });
    input.value = state.templateValues[name] || "";
    return el("div", { class: "template-field" }, el("label", { for: id, text: `{{${name}}}` }), input);
  });
  $("template-fields").replaceChildren(...fields);
  renderPreview();
}

/** Shows the picker's state: hidden, loading, empty (with the reason), the list, a form. */
export function renderTemplates() {
  const eligible = !state.contactState || state.contactState.eligible;
  const usable = state.channelEnabled && !!state.contact && eligible;
  const forced = usable && state.windowOpen === false;
  const available = state.templates && state.templates.length > 0;
  const button = $("template-toggle");
  button.disabled = !usable || !available;
  button.title = state.templates && !available ? state.templatesError || NO_TEMPLATES : "Send an approved WhatsApp template";
  const open = usable && (forced || state.templatesOpen);
  $("templates").hidden = !open;
  $("composer").hidden = forced;
  $("template-close").hidden = forced;
  if (!open) return;
  const notice = $("template-notice");
  notice.hidden = available;
  notice.textContent = state.templates === null ? "Loading templates…" : state.templatesError || NO_TEMPLATES;
  $("template-pick").hidden = !available || !!state.template;
  $("template-form").hidden = !state.template;
  if (state.template) {
    if ($("template-name").textContent !== state.template.name || !$("template-fields").children.length) renderForm();
  } else {
    $("template-name").textContent = "";
    $("template-fields").replaceChildren();
    renderList();
  }
}

async function sendTemplate(event) {
  event.preventDefault();
  const t = state.template;
  if (!t || !state.contact) return;
  const variables = {};
  for (const name of placeholders(t)) {
    const value = (state.templateValues[name] || "").trim();
    if (!value) {
      toast(`Fill in {{${name}}} before sending.`);
      $(`template-var-${name}`).focus();
      return;
    }
    variables[name] = value;
  }
  const body = { contact_id: state.contact.contact_id, template: { content_sid: t.content_sid, variables } };
  $("template-send").disabled = true;
  try {
    const accepted = await call("POST", "/whatsapp/messages", body, { "Idempotency-Key": composeKey(body) });
    state.compose = null;
    for (const m of accepted.messages) keepNewest(m);
    render(true);
    state.templatesOpen = false;
    chooseTemplate(null);
  } catch (e) {
    toast(e.message);
  } finally {
    $("template-send").disabled = false;
  }
  renderTemplates();
}

export function wireTemplates() {
  $("template-toggle").addEventListener("click", () => showTemplates(!state.templatesOpen));
  $("template-close").addEventListener("click", () => showTemplates(false));
  $("template-search").addEventListener("input", renderList);
  $("template-back").addEventListener("click", () => {
    chooseTemplate(null);
    renderTemplates();
  });
  $("template-refresh").addEventListener("click", () => loadTemplates(true));
  $("template-form").addEventListener("submit", sendTemplate);
}
