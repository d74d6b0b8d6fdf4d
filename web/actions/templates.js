// Approved WhatsApp templates: read from the API (cached there per organization), chosen,
// filled in.

import { call } from "../api.js";
import { contactValue, placeholders } from "../rules.js";
import { state, update } from "../state.js";

export async function loadTemplates(refresh = false) {
  // Templates belong to the organization: only a switch of user makes an answer stale.
  const token = state.token;
  update({ templates: null, templatesError: null });
  try {
    const answer = await call("GET", `/whatsapp/templates${refresh ? "?refresh=true" : ""}`);
    if (token !== state.token) return;
    update({ templates: answer.templates });
  } catch (e) {
    if (token !== state.token) return;
    update({ templates: [], templatesError: e.message });
  }
}

/** Opens (or, inside the window, closes) the picker. */
export function showTemplates(open) {
  update((s) => {
    s.templatesOpen = open;
    if (!open) {
      s.template = null;
      s.templateValues = {};
    }
  });
}

/**
 * The template to fill in. Variables named for a contact field start with the contact's value
 * (editable); the others start empty, the approved sample shown as a hint only.
 */
export function chooseTemplate(template) {
  const templateValues = {};
  for (const name of template ? placeholders(template) : []) {
    const value = contactValue(name, state.contact);
    if (value) templateValues[name] = value;
  }
  update({ template, templateValues });
}

export function setTemplateValue(name, value) {
  update({ templateValues: { ...state.templateValues, [name]: value } });
}
