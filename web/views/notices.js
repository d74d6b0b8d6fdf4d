// Notices of messages that failed in a conversation that was not open: who, why, and a way
// there. Each stays until dismissed or its conversation is opened (actions/failures.js).

import { selectContact } from "../actions/conversation.js";
import { dismissFailure } from "../actions/failures.js";
import { $, el } from "../dom.js";
import { subscribe } from "../state.js";

function renderNotice(notice, s) {
  const row = s.inbox.get(notice.contactId);
  const contact = (row && row.contact) || s.contacts.find((c) => c.contact_id === notice.contactId) || { contact_id: notice.contactId };
  return el(
    "div",
    { class: "failure-notice", "data-contact": notice.contactId },
    el("span", { class: "what", text: `A message to ${notice.name} failed${notice.reason ? `: ${notice.reason}` : "."}` }),
    el("button", { type: "button", class: "link", text: `Open ${notice.name}`, onclick: () => selectContact(contact) }),
    el("button", { type: "button", class: "dismiss", "aria-label": `Dismiss the notice about ${notice.name}`, text: "×", onclick: () => dismissFailure(notice.contactId) }),
  );
}

export function mountNotices() {
  let shown;
  subscribe((s) => {
    if (shown === s.failureNotices) return;
    shown = s.failureNotices;
    $("failure-notices").replaceChildren(...s.failureNotices.map((n) => renderNotice(n, s)));
  });
}
