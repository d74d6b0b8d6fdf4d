// Drafts: what the agent typed and attached in a conversation belongs to that conversation.
// Switching contacts keeps it with its contact (an upload under way finishes there) and
// brings the other's back; a reload or another device finds it on the server (per agent:
// the token's `sub`). Saved after a pause in typing, on a contact switch and when the page
// is hidden or left (`keepalive`, so the request outlives the page); a save that fails for
// a reason that may pass is tried again, and never touches the composer. A send empties it.

import { call, currentToken } from "../api.js";
import { config, state, update } from "../state.js";

const SAVE_AFTER_MS = () => config.draftSaveMs || 800;
const RETRY_MS = () => config.draftRetryMs || 3000;

// The text typed per contact (this tab, this token): what the composer shows on return.
const texts = new Map();
// Whether each contact's composer writes a message or a note (a draft remembers it).
const kinds = new Map();
// Drafts changed but not saved yet, by token and contact: `{token, contactId, body}`.
const unsaved = new Map();
// What the server holds as last saved or read, by the same key (the body's JSON).
const stored = new Map();
let timer = null;

const keyOf = (token, contactId) => `${token}\n${contactId}`;
const path = (contactId) => `/whatsapp/conversations/${encodeURIComponent(contactId)}/draft`;

/** The draft of a conversation as the server takes it: its text and its finished uploads. */
function draftBody(contactId) {
  return {
    kind: kinds.get(contactId) || "message",
    text: texts.get(contactId) || "",
    attachments: state.attachments
      .filter((a) => a.contactId === contactId && a.state === "ready")
      .map((a) => a.attachment),
  };
}

/**
 * A conversation's composer changed (text typed, a file attached, uploaded or removed):
 * saved after a pause.
 */
export function draftChanged(contactId = state.contact && state.contact.contact_id) {
  if (!contactId) return;
  const token = currentToken();
  unsaved.set(keyOf(token, contactId), { token, contactId, body: draftBody(contactId) });
  schedule(SAVE_AFTER_MS());
}

/** The text in the open conversation's composer, as the agent types it. */
export function draftTyped(text) {
  if (!state.contact) return;
  texts.set(state.contact.contact_id, text);
  update({ draftText: text });
  draftChanged();
}

/** The open conversation's composer switched between a message and a note. */
export function draftKind(kind) {
  if (!state.contact) return;
  kinds.set(state.contact.contact_id, kind);
  update({ composeMode: kind });
  if (texts.get(state.contact.contact_id)) draftChanged();
}

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(() => flushDrafts(), ms);
}

/** Saves every draft not saved yet, now (`keepalive`: the page is going away). */
export function flushDrafts({ keepalive = false } = {}) {
  clearTimeout(timer);
  for (const draft of unsaved.values()) save(draft, keepalive);
}

async function save(draft, keepalive) {
  const key = keyOf(draft.token, draft.contactId);
  const body = JSON.stringify(draft.body);
  const done = () => unsaved.get(key) === draft && unsaved.delete(key);
  if (stored.get(key) === body) return done();
  try {
    await call("PUT", path(draft.contactId), draft.body, {}, { token: draft.token, keepalive });
    stored.set(key, body);
    done();
  } catch (e) {
    // Refused for what it is (too long, a file WhatsApp would not take), for whom (no agent
    // in the token) or where (the contact is gone): trying again changes nothing, and the
    // composer keeps it all the same. Anything else may pass: tried again.
    if (e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) return done();
    if (unsaved.get(key) === draft) schedule(RETRY_MS());
  }
}

/** An attachment of a stored draft as the composer holds one. */
function fromDraft(contactId, a) {
  const attachment = { key: a.key, content_type: a.content_type, filename: a.filename, size: a.size };
  return {
    contactId,
    name: a.filename || a.key.split("/").pop(),
    size: a.size,
    type: a.content_type,
    state: a.available ? "ready" : "expired",
    progress: 100,
    attachment,
  };
}

/**
 * The conversation just opened: its text as typed in this tab, else the server's draft (with
 * its attachments, each marked expired when its upload is gone). Nothing replaces what the
 * agent typed or attached meanwhile.
 */
export async function openDraft(contactId) {
  const typed = texts.get(contactId);
  update((s) => {
    s.draftText = typed || "";
    s.draftShown += 1;
    s.composeMode = kinds.get(contactId) || "message";
  });
  if (typed !== undefined) return;
  const token = currentToken();
  try {
    const answer = await call("GET", path(contactId));
    const open = state.contact && state.contact.contact_id === contactId;
    if (!answer.draft || token !== currentToken() || texts.has(contactId)) return;
    const draft = answer.draft;
    texts.set(contactId, draft.text);
    kinds.set(contactId, draft.kind === "note" ? "note" : "message");
    const kept = draft.attachments.filter((a) => a.available).map(({ available, ...a }) => a);
    stored.set(keyOf(token, contactId), JSON.stringify({ kind: draft.kind, text: draft.text, attachments: kept }));
    update((s) => {
      const known = new Set(s.attachments.filter((a) => a.contactId === contactId).map((a) => a.attachment && a.attachment.key));
      s.attachments = s.attachments.concat(draft.attachments.filter((a) => !known.has(a.key)).map((a) => fromDraft(contactId, a)));
      if (open) {
        s.draftText = draft.text;
        s.draftShown += 1;
        s.composeMode = kinds.get(contactId);
      }
    });
  } catch {
    // No draft to show is no error for the agent: the composer stays as it is.
  }
}

/** The signed-in user changes: their drafts are saved (with their token), then forgotten here. */
export function forgetDrafts() {
  flushDrafts();
  texts.clear();
  kinds.clear();
  for (const a of state.attachments) if (a.xhr) a.xhr.abort();
  update((s) => {
    s.attachments = [];
    s.draftText = "";
    s.draftShown += 1;
    s.composeMode = "message";
  });
}
