// The contact picker: the organization's eligible contacts, searchable, keyboard-navigable.

import { loadContacts, search } from "../actions/contacts.js";
import { selectContact } from "../actions/conversation.js";
import { $, el } from "../dom.js";
import { subscribe } from "../state.js";

function contactKeys(event, contacts, contact) {
  const index = contacts.indexOf(contact);
  const move = (to) => {
    const next = contacts[Math.max(0, Math.min(contacts.length - 1, to))];
    const node = next && document.getElementById(`contact-${next.contact_id}`);
    if (node) node.focus();
  };
  if (event.key === "ArrowDown") { event.preventDefault(); move(index + 1); }
  else if (event.key === "ArrowUp") { event.preventDefault(); move(index - 1); }
  else if (event.key === "Enter" || event.key === " ") { event.preventDefault(); selectContact(contact); }
}

function render(s) {
  const list = $("contact-list");
  const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.id : null;
  list.replaceChildren(
    ...s.contacts.map((c) => {
      const selected = s.contact && s.contact.contact_id === c.contact_id;
      const item = el(
        "li",
        { role: "option", id: `contact-${c.contact_id}`, "aria-selected": String(!!selected), tabindex: selected || (!s.contact && c === s.contacts[0]) ? "0" : "-1", "data-id": c.contact_id },
        el("span", { text: c.name }),
        el("span", { class: "meta", text: [c.phone_number, c.email].filter(Boolean).join(" · ") }),
      );
      item.addEventListener("click", () => selectContact(c));
      item.addEventListener("keydown", (event) => contactKeys(event, s.contacts, c));
      return item;
    }),
  );
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  $("contacts-empty").hidden = s.contacts.length > 0;
  $("contacts-more").hidden = !s.contactsCursor;
}

export function mountContacts() {
  let searchTimer = null;
  $("contact-search").addEventListener("input", (event) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => search(event.target.value), 300);
  });
  $("contacts-more").addEventListener("click", () => loadContacts(false));
  const seen = {};
  subscribe((s) => {
    if (seen.contacts === s.contacts && seen.contact === s.contact && seen.cursor === s.contactsCursor) return;
    Object.assign(seen, { contacts: s.contacts, contact: s.contact, cursor: s.contactsCursor });
    render(s);
  });
}
