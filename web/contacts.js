// The contact picker: the organization's eligible contacts, searched and paged.

import { call } from "./api.js";
import { selectContact } from "./conversation.js";
import { $, el, toast } from "./dom.js";
import { state } from "./state.js";

let searchTimer = null;

export async function loadContacts(reset) {
  const generation = state.generation;
  if (reset) {
    state.contacts = [];
    state.contactsCursor = null;
  }
  const params = new URLSearchParams();
  if (state.search) params.set("q", state.search);
  if (state.contactsCursor) params.set("cursor", state.contactsCursor);
  try {
    const page = await call("GET", `/whatsapp/contacts?${params}`);
    if (generation !== state.generation) return;
    state.contacts = reset ? page.contacts : state.contacts.concat(page.contacts);
    state.contactsCursor = page.next_cursor;
    renderContacts();
  } catch (e) {
    toast(e.message);
  }
}

export function renderContacts() {
  const list = $("contact-list");
  list.replaceChildren(
    ...state.contacts.map((c) => {
      const selected = state.contact && state.contact.contact_id === c.contact_id;
      const item = el(
        "li",
        { role: "option", id: `contact-${c.contact_id}`, "aria-selected": String(!!selected), tabindex: selected || (!state.contact && c === state.contacts[0]) ? "0" : "-1", "data-id": c.contact_id },
        el("span", { text: c.name }),
        el("span", { class: "meta", text: [c.phone_number, c.email].filter(Boolean).join(" · ") }),
      );
      item.addEventListener("click", () => selectContact(c));
      item.addEventListener("keydown", (event) => contactKeys(event, c));
      return item;
    }),
  );
  $("contacts-empty").hidden = state.contacts.length > 0;
  $("contacts-more").hidden = !state.contactsCursor;
}

function contactKeys(event, contact) {
  const index = state.contacts.indexOf(contact);
  const move = (to) => {
    const next = state.contacts[Math.max(0, Math.min(state.contacts.length - 1, to))];
    const node = next && document.getElementById(`contact-${next.contact_id}`);
    if (node) node.focus();
  };
  if (event.key === "ArrowDown") { event.preventDefault(); move(index + 1); }
  else if (event.key === "ArrowUp") { event.preventDefault(); move(index - 1); }
  else if (event.key === "Enter" || event.key === " ") { event.preventDefault(); selectContact(contact); }
}

export function wireContacts() {
  $("contact-search").addEventListener("input", (event) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.search = event.target.value.trim();
      state.generation += 1;
      loadContacts(true);
    }, 300);
  });
  $("contacts-more").addEventListener("click", () => loadContacts(false));
}
