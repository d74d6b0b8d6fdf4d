// Failures you cannot miss. An outbound message that fails while its conversation is not the
// one open raises a notice naming the contact (until dismissed or the conversation opened),
// and its inbox row carries a failed mark until the conversation is opened in this tab.
// What tells of a failure: a pushed message event of another conversation, or a row whose
// newest message became FAILED (push or poll). Each failed message is told once.

import { state, update } from "../state.js";

// Message ids already told (a row and a message event may both tell one failure).
const told = new Set();

/** `message` (or a row's `last_message`) of the conversation `contactId` is known now. */
export function outboundChanged(contactId, message) {
  if (!message || message.direction !== "OUTBOUND" || message.status !== "FAILED") return;
  if (told.has(message.id)) return;
  told.add(message.id);
  if (state.contact && state.contact.contact_id === contactId) return;
  const row = state.inbox.get(contactId);
  const listed = state.contacts.find((c) => c.contact_id === contactId);
  const name = (row && row.contact && row.contact.name) || (listed && listed.name) || "a contact";
  update((s) => {
    s.failedMarks = new Map(s.failedMarks).set(contactId, message.id);
    s.failureNotices = [
      ...s.failureNotices.filter((n) => n.contactId !== contactId),
      { contactId, messageId: message.id, name, reason: message.error_reason || "" },
    ];
  });
}

/** A failure already on screen when first read (the conversation is open, or the list was just loaded) is not news. */
export function alreadyKnown(messageId) {
  if (messageId) told.add(messageId);
}

/** The conversation was opened: its mark and notice go. */
export function failuresSeen(contactId) {
  if (!state.failedMarks.has(contactId) && !state.failureNotices.some((n) => n.contactId === contactId)) return;
  update((s) => {
    const marks = new Map(s.failedMarks);
    marks.delete(contactId);
    s.failedMarks = marks;
    s.failureNotices = s.failureNotices.filter((n) => n.contactId !== contactId);
  });
}

/** The agent closed the notice; the row keeps its mark until the conversation is opened. */
export function dismissFailure(contactId) {
  update((s) => {
    s.failureNotices = s.failureNotices.filter((n) => n.contactId !== contactId);
  });
}

/** Another user signed in: nothing of the previous one's failures stays. */
export function forgetFailures() {
  told.clear();
  update((s) => {
    s.failedMarks = new Map();
    s.failureNotices = [];
  });
}
