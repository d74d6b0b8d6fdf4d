// Sending: a composition (text and attachments) or a template, with one Idempotency-Key per
// compose action, so sending the same thing again after an error (a 503, a lost answer) is
// a retry and the server sends no part twice. The message shows as pending at once and is
// replaced by what the server stored.

import { call } from "../api.js";
import { toast } from "../dom.js";
import { composeKey, composerAttachments, composing, isPending, PENDING_ID_PREFIX, state, update } from "../state.js";
import { accepted, showPending, withdraw } from "./conversation.js";
import { draftTyped, flushDrafts } from "./drafts.js";
import { presenceIdle } from "./presence.js";

/**
 * The newest message the agent has on screen (a server id): a send names it as `seen_up_to`,
 * so one made while the contact or another agent wrote meanwhile is refused (409) and shown.
 */
function seenUpTo() {
  let newest = null;
  for (const id of state.messages.keys()) if (!isPending(id) && (!newest || id > newest)) newest = id;
  return newest;
}

/** `body` as sent: with `seen_up_to` when the conversation shows a message (not part of its key). */
export const guarded = (body) => {
  const seen = seenUpTo();
  return seen ? { ...body, seen_up_to: seen } : body;
};

/**
 * A send refused because the conversation changed (409 `conversation_changed`): what was
 * written since is shown, and the agent chooses "Send anyway" (the same send, same key,
 * without `seen_up_to`) or "Edit". Never sent again by itself. True when it was that refusal.
 */
export function collided(e, kind, body, key) {
  if (e.code !== "conversation_changed") return false;
  const news = (e.details && Array.isArray(e.details.messages)) ? e.details.messages : [];
  if (news.length) accepted(news);
  update({ collision: { kind, body, key, news } });
  return true;
}

/** Sends the text and the uploaded attachments; resolves true once the server took them. */
export async function sendComposition(text) {
  if (!composing(state).usable || state.sending) return false;
  const ready = composerAttachments(state).filter((a) => a.state === "ready");
  // Nothing to send (Enter in an empty composer): nothing happens, and nothing to report.
  if (!text.trim() && !ready.length) return false;
  const pendingId = `${PENDING_ID_PREFIX}${Date.now()}`;
  showPending({
    id: pendingId, direction: "OUTBOUND", message_type: "TEXT", text: text.trim() ? text : null,
    attachments: [], status: "PENDING", created_at: new Date().toISOString(),
    agent: state.agentSub ? { sub: state.agentSub, name: "You" } : undefined,
  });
  const body = {
    contact_id: state.contact.contact_id,
    text: text.trim() ? text : null,
    attachments: ready.map((a) => a.attachment),
  };
  update({ sending: true, collision: null });
  const key = composeKey(body);
  try {
    const answer = await call("POST", "/whatsapp/messages", guarded(body), { "Idempotency-Key": key });
    withdraw(pendingId);
    compositionSent(answer, body);
    return true;
  } catch (e) {
    withdraw(pendingId);
    if (!collided(e, "composition", body, key)) toast(e.message);
    return false;
  } finally {
    update({ sending: false });
  }
}

/** A composition the server took: shown as stored, its files and draft emptied. */
function compositionSent(answer, body) {
  accepted(answer.messages);
  const sentKeys = new Set((body.attachments || []).map((a) => a.key));
  update({ compose: null, collision: null, attachments: state.attachments.filter((a) => !(a.attachment && sentKeys.has(a.attachment.key) && a.contactId === body.contact_id)) });
  // Sent: the conversation's draft is emptied, on the server too.
  draftTyped("");
  update((s) => {
    s.draftShown += 1;
  });
  flushDrafts();
  presenceIdle();
}

/** Buttons or a list the server took: shown as stored, the conversation's builder closed. */
export function interactiveSent(answer, body) {
  accepted(answer.messages);
  update((s) => {
    s.compose = null;
    s.collision = null;
    s.interactive = new Map(s.interactive);
    s.interactive.delete(body.contact_id);
  });
  presenceIdle();
}

/** "Send anyway": the refused send again, without `seen_up_to`, under the same key. */
export async function sendAnyway() {
  const c = state.collision;
  if (!c || state.sending || !state.contact || state.contact.contact_id !== c.body.contact_id) return false;
  update({ sending: true });
  try {
    const answer = await call("POST", "/whatsapp/messages", c.body, { "Idempotency-Key": c.key });
    if (c.kind === "template") {
      accepted(answer.messages);
      update({ compose: null, collision: null, templatesOpen: false, template: null, templateValues: {} });
    } else if (c.kind === "interactive") {
      interactiveSent(answer, c.body);
    } else {
      compositionSent(answer, c.body);
    }
    return true;
  } catch (e) {
    toast(e.message);
    return false;
  } finally {
    update({ sending: false });
  }
}

/** "Edit": the refused composition stays in the composer, to be reworded. */
export function editAfterCollision() {
  update({ collision: null });
}

/** Sends the chosen template with its variables; every placeholder must be filled. */
export async function sendTemplate(placeholders) {
  const t = state.template;
  if (!t || !state.contact || state.templateSending) return { ok: false };
  const variables = {};
  for (const name of placeholders) {
    const value = (state.templateValues[name] || "").trim();
    if (!value) {
      toast(`Fill in {{${name}}} before sending.`);
      return { ok: false, missing: name };
    }
    variables[name] = value;
  }
  const body = { contact_id: state.contact.contact_id, template: { content_sid: t.content_sid, variables } };
  update({ templateSending: true, collision: null });
  const key = composeKey(body);
  try {
    const answer = await call("POST", "/whatsapp/messages", guarded(body), { "Idempotency-Key": key });
    accepted(answer.messages);
    update({ compose: null, templatesOpen: false, template: null, templateValues: {} });
    return { ok: true };
  } catch (e) {
    if (!collided(e, "template", body, key)) toast(e.message);
    return { ok: false };
  } finally {
    update({ templateSending: false });
  }
}

// Failed messages being sent again by this tab (a second click waits for the first).
const retrying = new Set();

/**
 * Sends a FAILED message again: the same text, files (its stored copies) or template. The
 * Idempotency-Key is the failed message's id, so a double click, a second tab or another
 * agent retrying it sends it once (the repeat answers the first send). Never offered for
 * UNCONFIRMED, whose outcome is unknown.
 */
export async function retryFailed(m) {
  if (m.status !== "FAILED" || m.direction !== "OUTBOUND" || retrying.has(m.id) || !m.contact_id) return;
  const body = m.template
    ? { contact_id: m.contact_id, template: { content_sid: m.template.content_sid, variables: m.template.variables || {} } }
    : {
      contact_id: m.contact_id,
      text: m.text || null,
      attachments: m.attachments.filter((a) => a.key && a.size).map((a) => ({
        key: a.key, content_type: a.content_type, size: a.size, ...(a.filename ? { filename: a.filename } : {}),
      })),
    };
  retrying.add(m.id);
  try {
    const answer = await call("POST", "/whatsapp/messages", body, { "Idempotency-Key": `retry-${m.id}` });
    update((s) => {
      s.retried = new Set(s.retried).add(m.id);
      s.scrollToNewest += 1;
    });
    if (state.contact && state.contact.contact_id === m.contact_id) accepted(answer.messages);
  } catch (e) {
    // Another tab is sending it right now: its answer will show.
    if (e.code !== "send_in_progress") toast(e.message);
  } finally {
    retrying.delete(m.id);
  }
}

/** Puts a message's text on the clipboard (to rework it before sending). */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast("Text copied.");
  } catch {
    toast("The text could not be copied: select it in the message instead.");
  }
}
