// The contact picker's data: the organization's eligible contacts, searched and paged.

import { call } from "../api.js";
import { toast } from "../dom.js";
import { state, update } from "../state.js";

// The newest request for the list: an answer to an older one (another search, another user,
// a page asked for before a new search) is dropped. Opening a conversation does not drop it.
let listRequest = 0;

export async function loadContacts(reset) {
  listRequest += 1;
  const request = listRequest;
  const params = new URLSearchParams();
  if (state.search) params.set("q", state.search);
  if (!reset && state.contactsCursor) params.set("cursor", state.contactsCursor);
  try {
    const page = await call("GET", `/whatsapp/contacts?${params}`);
    if (request !== listRequest) return;
    update({ contacts: reset ? page.contacts : state.contacts.concat(page.contacts), contactsCursor: page.next_cursor });
  } catch (e) {
    toast(e.message);
  }
}

export function search(text) {
  update((s) => {
    s.search = text.trim();
    s.generation += 1;
  });
  loadContacts(true);
}

/** Takes a contact off the picker (deleted in the CRM). */
export function dropContact(contactId) {
  update({ contacts: state.contacts.filter((c) => c.contact_id !== contactId) });
}
