// The composer: text and attachments, sent as one compose action; the message shows as
// pending at once and is replaced by what the server stored.

import { call } from "./api.js";
import { render } from "./conversation.js";
import { $, toast } from "./dom.js";
import { SENTENCES } from "./rules.js";
import { composeKey, keepNewest, state } from "./state.js";
import { renderTemplates } from "./templates.js";
import { addFiles, renderChips } from "./uploads.js";

export function updateComposer() {
  const eligible = !state.contactState || state.contactState.eligible;
  const ready = state.channelEnabled && !!state.contact && eligible;
  $("message-text").disabled = !ready;
  $("file-input").disabled = !ready;
  $("attach").classList.toggle("disabled", !ready);
  $("send").disabled = !ready || state.attachments.some((a) => a.state === "uploading");
  renderTemplates();
}

async function send(event) {
  event.preventDefault();
  if (!state.contact || !state.channelEnabled) return;
  const text = $("message-text").value;
  const ready = state.attachments.filter((a) => a.state === "ready");
  if (!text.trim() && !ready.length) {
    toast(SENTENCES.noContent);
    return;
  }
  // Shown at once as pending; replaced by what the server stored.
  const temporaryId = `pending-${Date.now()}`;
  state.messages.set(temporaryId, {
    id: "~" + temporaryId, direction: "OUTBOUND", message_type: "TEXT", text: text.trim() ? text : null,
    attachments: [], status: "PENDING", created_at: new Date().toISOString(),
  });
  render(true);
  $("send").disabled = true;
  const body = {
    contact_id: state.contact.contact_id,
    text: text.trim() ? text : null,
    attachments: ready.map((a) => a.attachment),
  };
  // One Idempotency-Key per compose action: sending the same composition again after an
  // error (a 503, a lost answer) is a retry, and the server sends no part twice.
  try {
    const accepted = await call("POST", "/whatsapp/messages", body, { "Idempotency-Key": composeKey(body) });
    state.compose = null;
    state.messages.delete(temporaryId);
    for (const m of accepted.messages) keepNewest(m);
    $("message-text").value = "";
    state.attachments = state.attachments.filter((a) => !ready.includes(a));
    renderChips();
  } catch (e) {
    state.messages.delete(temporaryId);
    toast(e.message);
  }
  render(true);
  updateComposer();
}

export function wireComposer() {
  $("composer").addEventListener("submit", send);
  $("message-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("file-input").addEventListener("change", (event) => {
    addFiles([...event.target.files]);
    event.target.value = "";
  });
}
