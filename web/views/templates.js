// Approved WhatsApp templates: outside the 24-hour window the composer turns into this
// picker; inside it the "Template" button opens it. Search, choose, fill the variables (the
// approved samples as placeholders), see exactly what the contact will receive, send.

import { sendTemplate } from "../actions/compose.js";
import { chooseTemplate, loadTemplates, setTemplateValue, showTemplates } from "../actions/templates.js";
import { $, el } from "../dom.js";
import { placeholders } from "../rules.js";
import { composing, state, subscribe } from "../state.js";

const NO_TEMPLATES = "No approved WhatsApp templates for this organization yet.";

/** The text with each placeholder replaced by `value(name)`. */
export function fill(text, value) {
  return text.replace(/\{\{([^{}]*)\}\}/g, (whole, name) => value(name.trim()) ?? whole);
}

function renderList(s) {
  const query = $("template-search").value.trim().toLowerCase();
  const words = query.split(/\s+/).filter(Boolean);
  const matches = (s.templates || []).filter((t) => words.every((w) => `${t.name} ${t.body}`.toLowerCase().includes(w)));
  $("template-list").replaceChildren(
    ...matches.map((t) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "template-choice", "data-sid": t.content_sid, onclick: () => chooseTemplate(t) },
          el("strong", { text: t.name }),
          el("span", { class: "meta", text: ` ${t.category.toLowerCase()} · ${t.language}` }),
          el("span", { class: "body", text: t.body }),
        ),
      ),
    ),
  );
  if (!matches.length && s.templates && s.templates.length) {
    $("template-list").append(el("li", { class: "empty", text: "No template matches your search." }));
  }
}

function renderPreview(s) {
  const t = s.template;
  const value = (name) => {
    const given = s.templateValues[name];
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

function renderForm(s) {
  const t = s.template;
  $("template-name").textContent = t.name;
  const fields = placeholders(t).map((name) => {
    const id = `template-var-${name}`;
    const input = el("input", {
      id,
      type: "text",
      placeholder: t.variables[name] || "",
      "data-variable": name,
      maxlength: "1024",
      oninput: (event) => setTemplateValue(name, event.target.value),
    });
    input.value = s.templateValues[name] || "";
    return el("div", { class: "template-field" }, el("label", { for: id, text: `{{${name}}}` }), input);
  });
  $("template-fields").replaceChildren(...fields);
}

/** The picker's state: hidden, loading, empty (with the reason), the list, a form. */
function render(s, seen) {
  const { usable, templatesOnly, note } = composing(s);
  const available = s.templates && s.templates.length > 0;
  const button = $("template-toggle");
  button.disabled = note || !usable || !available;
  button.title = s.templates && !available ? s.templatesError || NO_TEMPLATES : "Send an approved WhatsApp template";
  const open = !note && usable && (templatesOnly || s.templatesOpen);
  $("templates").hidden = !open;
  $("template-close").hidden = templatesOnly;
  $("template-send").disabled = s.templateSending;
  if (!open) {
    seen.template = undefined;
    return;
  }
  const notice = $("template-notice");
  notice.hidden = available;
  notice.textContent = s.templates === null ? "Loading templates…" : s.templatesError || NO_TEMPLATES;
  $("template-pick").hidden = !available || !!s.template;
  $("template-form").hidden = !s.template;
  if (s.template) {
    // The fields are drawn once per chosen template: typing only redraws the preview.
    if (seen.template !== s.template) renderForm(s);
    renderPreview(s);
  } else {
    $("template-name").textContent = "";
    $("template-fields").replaceChildren();
    if (seen.template !== null || seen.templates !== s.templates) renderList(s);
  }
  seen.template = s.template;
  seen.templates = s.templates;
}

async function send(event) {
  event.preventDefault();
  if (!state.template) return;
  const result = await sendTemplate(placeholders(state.template));
  if (result.missing) $(`template-var-${result.missing}`).focus();
}

export function mountTemplates() {
  const seen = {};
  $("template-toggle").addEventListener("click", () => showTemplates(!state.templatesOpen));
  $("template-close").addEventListener("click", () => showTemplates(false));
  $("template-search").addEventListener("input", () => renderList(state));
  $("template-back").addEventListener("click", () => chooseTemplate(null));
  $("template-refresh").addEventListener("click", () => loadTemplates(true));
  $("template-form").addEventListener("submit", send);
  // Escape closes the picker (when it can close) and gives the focus back to its button.
  $("templates").addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || $("template-close").hidden) return;
    event.preventDefault();
    showTemplates(false);
    $("template-toggle").focus();
  });
  let open = false;
  subscribe((s) => {
    render(s, seen);
    // Opened by the agent: the focus goes into it, on the search field.
    const nowOpen = !$("templates").hidden;
    if (nowOpen && !open && s.templatesOpen) $("template-search").focus();
    open = nowOpen;
  });
}
