// The inbox: with the search box empty, the recent conversations on top of the contact list
// (newest activity first, an unread badge, the newest message's preview, when, a dot for a
// contact who can no longer be written to), and the organization's unread total in the tab
// title. Keyboard: the list is a listbox like the contacts'.

import { loadInbox, unreadTotal } from "../actions/inbox.js";
import { selectContact } from "../actions/conversation.js";
import { $, el, listKeys, relativeTime } from "../dom.js";
import { presentAgents, subscribe } from "../state.js";

const order = (a, b) => (a.last_message.id < b.last_message.id ? 1 : a.last_message.id > b.last_message.id ? -1 : 0);

/** Another agent in the conversation: a mark saying who, and whether they are writing. */
function presenceMark(here) {
  if (!here.length) return null;
  const words = here.map((p) => `${p.agent.name} ${p.state === "composing" ? "is writing" : "is viewing"}`).join(", ");
  const composing = here.some((p) => p.state === "composing");
  return el("span", { class: `presence-mark${composing ? " composing" : ""}`, role: "img", title: words, "aria-label": words, text: composing ? "✎" : "●" });
}

/** Who sent the row's newest message: "You: ", "Sam Okafor: ", "API: "; nothing when not recorded. */
function senderPrefix(by, me) {
  if (!by) return "";
  if (by.by === "api") return "API: ";
  return by.sub === me ? "You: " : `${by.name}: `;
}

function renderRow(row, selected, focusable, ids, index, failed, here, me) {
  const contact = row.contact;
  const unread = row.unread_count || 0;
  const by = row.last_message.direction === "OUTBOUND" ? row.last_message.sent_by : null;
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
      presenceMark(here),
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
      el("span", { class: "preview", text: `${senderPrefix(by, me)}${row.last_message.preview}` }),
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
  list.replaceChildren(...rows.map((row, index) => renderRow(row, row.contact_id === open, row.contact_id === open || (!open && index === 0), ids, index, s.failedMarks.has(row.contact_id), presentAgents(s, row.contact_id), s.agentSub)));
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
    if (seen.inbox === s.inbox && seen.contact === s.contact && seen.search === s.search && seen.cursor === s.inboxCursor && seen.failed === s.failedMarks && seen.presence === s.presence) return;
    Object.assign(seen, { inbox: s.inbox, contact: s.contact, search: s.search, cursor: s.inboxCursor, failed: s.failedMarks, presence: s.presence });
    render(s);
    renderTitle(s, base);
  });
  // Relative times ("now", "5 min") move on by themselves.
  setInterval(() => {
    for (const node of document.querySelectorAll("#conversation-list time.when")) node.textContent = relativeTime(node.getAttribute("datetime"));
  }, 60000);
}
