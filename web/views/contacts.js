// The contact picker: the organization's eligible contacts, searchable, keyboard-navigable;
// with the search box empty, those without a recent conversation (the inbox lists those).

import { loadContacts, search } from "../actions/contacts.js";
import { selectContact } from "../actions/conversation.js";
import { $, el, listKeys } from "../dom.js";
import { subscribe } from "../state.js";

function render(s) {
  const list = $("contact-list");
  const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.id : null;
  // With the search box empty, the recent conversations come first (views/inbox.js): the
  // list goes on with the other contacts.
  const shown = s.search ? s.contacts : s.contacts.filter((c) => !s.inbox.has(c.contact_id));
  const ids = shown.map((c) => `contact-${c.contact_id}`);
  list.replaceChildren(
    ...shown.map((c, index) => {
      const selected = s.contact && s.contact.contact_id === c.contact_id;
      const item = el(
        "li",
        { role: "option", id: ids[index], "aria-selected": String(!!selected), tabindex: selected || (!s.contact && index === 0) ? "0" : "-1", "data-id": c.contact_id },
        el("span", { text: c.name }),
        el("span", { class: "meta", text: [c.phone_number, c.email].filter(Boolean).join(" · ") }),
      );
      item.addEventListener("click", () => selectContact(c));
      item.addEventListener("keydown", (event) => listKeys(event, ids, index, () => selectContact(c)));
      return item;
    }),
  );
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  $("contacts-empty").hidden = shown.length > 0 || (!s.search && s.inbox.size > 0);
  $("contacts-more").hidden = !s.contactsCursor;
}

export function mountContacts() {
  let searchTimer = null;
  $("contact-search").addEventListener("input", (event) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => search(event.target.value), 300);
  });
  $("contact-search").addEventListener("keydown", (event) => {
    // Into the results with the arrow; Enter opens the first; Escape empties the search.
    const first = document.querySelector("#conversation-list li:not([hidden]), #contact-list li");
    const visible = first && first.closest("[hidden]") === null ? first : document.querySelector("#contact-list li");
    if (event.key === "ArrowDown" && visible) {
      event.preventDefault();
      visible.focus();
    } else if (event.key === "Enter" && event.target.value.trim() && visible) {
      event.preventDefault();
      visible.click();
    } else if (event.key === "Escape" && event.target.value) {
      event.preventDefault();
      event.target.value = "";
      search("");
    }
  });
  $("contacts-more").addEventListener("click", () => loadContacts(false));
  const seen = {};
  subscribe((s) => {
    if (seen.contacts === s.contacts && seen.contact === s.contact && seen.cursor === s.contactsCursor
        && seen.inbox === s.inbox && seen.search === s.search) return;
    Object.assign(seen, { contacts: s.contacts, contact: s.contact, cursor: s.contactsCursor, inbox: s.inbox, search: s.search });
    render(s);
  });
}
