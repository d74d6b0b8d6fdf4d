// The inbox: with the search box empty, the recent conversations on top of the contact list
// (newest activity first, an unread badge, the newest message's preview, when, a dot for a
// contact who can no longer be written to), and the organization's unread total in the tab
// title. Keyboard: the list is a listbox like the contacts'.

import { loadInbox, unreadTotal } from "../actions/inbox.js";
import { selectContact } from "../actions/conversation.js";
import { $, el, listKeys, relativeTime } from "../dom.js";
import { subscribe } from "../state.js";

const order = (a, b) => (a.last_message.id < b.last_message.id ? 1 : a.last_message.id > b.last_message.id ? -1 : 0);

function renderRow(row, selected, focusable, ids, index, failed) {
  const contact = row.contact;
  const unread = row.unread_count || 0;
  const outbound = row.last_message.direction === "OUTBOUND";
  const item = el(
    "li",
    {
      role: "option",
      id: ids[index],
      class: `conversation-row${unread ? " unread" : ""}`,
      "aria-selected": String(selected),
      tabindex: focusable ? "0" : "-1",
      "data-id": row.contact_id,
      "data-unread": String(unread),
      "data-failed": String(!!failed),
    },
    el(
      "span",
      { class: "row-top" },
      el("span", { class: "name", text: contact.name }),
      failed
        ? el("span", { class: "failed-mark", role: "img", title: "A message failed", "aria-label": "A message failed", text: "!" })
        : null,
      contact.eligible === false
        ? el("span", { class: "dot", role: "img", title: contact.ineligible_reason || "Cannot be messaged", "aria-label": `Cannot be messaged: ${contact.ineligible_reason || ""}` })
        : null,
      el("time", { class: "when", datetime: row.last_activity_at, title: new Date(row.last_activity_at).toLocaleString(), text: relativeTime(row.last_activity_at) }),
    ),
    el(
      "span",
      { class: "row-bottom" },
      el("span", { class: "preview", text: `${outbound ? "You: " : ""}${row.last_message.preview}` }),
      unread ? el("span", { class: "badge", "aria-label": `${unread} unread message${unread === 1 ? "" : "s"}`, text: String(unread) }) : null,
    ),
  );
  item.addEventListener("click", () => selectContact(contact));
  item.addEventListener("keydown", (event) => listKeys(event, ids, index, () => selectContact(contact)));
  return item;
}

function render(s) {
  const rows = [...s.inbox.values()].filter((r) => r.contact).sort(order);
  const list = $("conversation-list");
  const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.id : null;
  const ids = rows.map((r) => `conversation-${r.contact_id}`);
  const open = s.contact && s.contact.contact_id;
  list.replaceChildren(...rows.map((row, index) => renderRow(row, row.contact_id === open, row.contact_id === open || (!open && index === 0), ids, index, s.failedMarks.has(row.contact_id))));
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  const searching = !!s.search;
  $("inbox").hidden = searching || rows.length === 0;
  $("inbox-more").hidden = !s.inboxCursor;
}

function renderTitle(s, base) {
  const total = unreadTotal(s);
  document.title = total ? `(${total}) ${base}` : base;
}

export function mountInbox() {
  const base = document.title;
  $("inbox-more").addEventListener("click", () => loadInbox(true));
  const seen = {};
  subscribe((s) => {
    if (seen.inbox === s.inbox && seen.contact === s.contact && seen.search === s.search && seen.cursor === s.inboxCursor && seen.failed === s.failedMarks) return;
    Object.assign(seen, { inbox: s.inbox, contact: s.contact, search: s.search, cursor: s.inboxCursor, failed: s.failedMarks });
    render(s);
    renderTitle(s, base);
  });
  // Relative times ("now", "5 min") move on by themselves.
  setInterval(() => {
    for (const node of document.querySelectorAll("#conversation-list time.when")) node.textContent = relativeTime(node.getAttribute("datetime"));
  }, 60000);
}
