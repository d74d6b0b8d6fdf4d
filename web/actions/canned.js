// Canned responses: the organization's shared answers. Read once when first wanted (every
// page of them: at most 1,000), kept up to date by this tab's own saves; `/` in the composer
// picks one, its blanks are asked for, and the filled text goes into the composer to be sent
// (or edited) as the agent typed it. A dialog creates, edits and deletes them.

import { call } from "../api.js";
import { toast } from "../dom.js";
import { cannedBlanks, fillCanned } from "../rules.js";
import { state, update } from "../state.js";
import { draftTyped } from "./drafts.js";
import { buildInteractive } from "./interactive.js";

let reading = null;

/** Reads every canned response of the organization (once; `again` reads them anew). */
export function loadCanned(again = false) {
  if (reading && !again) return reading;
  const token = state.token;
  reading = (async () => {
    const all = [];
    let cursor = null;
    try {
      do {
        const page = await call("GET", `/whatsapp/canned-responses?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        all.push(...page.canned_responses);
        cursor = page.next_cursor;
      } while (cursor);
      if (token === state.token) update({ canned: all, cannedError: "" });
    } catch (e) {
      reading = null;
      if (token === state.token) update({ cannedError: e.message });
    }
  })();
  return reading;
}

/** Another user or organization: their responses are not this one's. */
export function forgetCanned() {
  reading = null;
  update({ canned: null, cannedError: "", cannedPick: null, cannedFill: null, cannedDialog: false });
}

/** The composer's text starts with `/`: the list opens (or follows what is typed). */
export function cannedTyped(text) {
  const match = /^\/([^\s/]*)$/.exec(text);
  if (!match) {
    if (state.cannedPick) update({ cannedPick: null });
    return;
  }
  if (state.canned === null) loadCanned();
  const query = match[1];
  if (!state.cannedPick || state.cannedPick.query !== query) update({ cannedPick: { query, index: 0 } });
}

export function moveCannedPick(index) {
  if (state.cannedPick) update({ cannedPick: { ...state.cannedPick, index } });
}

export function closeCannedPick() {
  update({ cannedPick: null });
}

/** The agent picked a response: its blanks are asked for, else it is put in the composer. */
export function pickCanned(response) {
  const blanks = cannedBlanks(response.text);
  if (blanks.length) {
    update({ cannedPick: null, cannedFill: { response, values: Object.fromEntries(blanks.map((b) => [b, ""])) } });
    return;
  }
  useCanned(response, {});
}

export function setCannedBlank(label, value) {
  if (!state.cannedFill) return;
  update({ cannedFill: { ...state.cannedFill, values: { ...state.cannedFill.values, [label]: value } } });
}

/** The blanks are filled: the text goes into the composer. False while one is empty. */
export function finishCannedFill() {
  const fill = state.cannedFill;
  if (!fill) return false;
  const missing = Object.entries(fill.values).find(([, v]) => !v.trim());
  if (missing) {
    toast(`Fill in “${missing[0]}” first.`);
    return false;
  }
  useCanned(fill.response, fill.values);
  return true;
}

export function cancelCannedFill() {
  update({ cannedFill: null });
}

function useCanned(response, blanks) {
  const text = fillCanned(response.text, {
    contactName: (state.contact && state.contact.name) || "",
    agentName: state.agentName,
    blanks,
  });
  if (response.buttons && response.buttons.length) {
    // A response with buttons opens the builder with them, its text their message; the
    // `/shortcut` typed goes from the composer.
    draftTyped("");
    update((s) => {
      s.cannedPick = null;
      s.cannedFill = null;
      s.draftShown += 1;
    });
    buildInteractive({ body: text, buttons: response.buttons });
    return;
  }
  draftTyped(text);
  update((s) => {
    s.cannedPick = null;
    s.cannedFill = null;
    s.draftShown += 1;
  });
}

export function openCannedDialog(open = true) {
  if (open && state.canned === null) loadCanned();
  update({ cannedDialog: open });
}

const keep = (list, saved) => [...(list || []).filter((r) => r.id !== saved.id), saved];

/** Creates (no `id`) or edits a response; resolves to an error sentence, or "" when saved. */
export async function saveCanned({ id, shortcut, title, text, buttons = [], updated_at }) {
  try {
    const answer = id
      ? await call("PUT", `/whatsapp/canned-responses/${encodeURIComponent(id)}`, { shortcut, title, text, buttons, updated_at })
      : await call("POST", "/whatsapp/canned-responses", { shortcut, title, text, buttons });
    update((s) => {
      s.canned = keep(s.canned, answer.canned_response);
    });
    return "";
  } catch (e) {
    // Changed by another agent meanwhile: what is stored now is read again.
    if (e.code === "canned_response_changed") loadCanned(true);
    return e.message;
  }
}

export async function deleteCanned(response) {
  try {
    await call("DELETE", `/whatsapp/canned-responses/${encodeURIComponent(response.id)}`);
    update((s) => {
      s.canned = (s.canned || []).filter((r) => r.id !== response.id);
    });
    return "";
  } catch (e) {
    if (e.code === "canned_response_changed" || e.status === 404) loadCanned(true);
    return e.message;
  }
}
