// The page's address: each conversation has its own, `#/conversations/{contact_id}` (a hash
// route: no server path, so the page is served as it is, and the CRM's contact page can link
// to it). Pure helpers over `location` and `history`; actions decide when to use them.

const PREFIX = "#/conversations/";

/** The contact id the address names, or null. */
export function addressedContactId() {
  if (!location.hash.startsWith(PREFIX)) return null;
  const id = location.hash.slice(PREFIX.length);
  try {
    return id && !id.includes("/") ? decodeURIComponent(id) : null;
  } catch {
    return null;
  }
}

/** Shows the conversation's address (a new history entry, so Back returns to the last one). */
export function showAddress(contactId) {
  const hash = `${PREFIX}${encodeURIComponent(contactId)}`;
  if (location.hash !== hash) history.pushState(null, "", hash);
}

/** Clears the address (no conversation open), replacing the entry that named one. */
export function clearAddress() {
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
}

/** The list, as a new history entry (Back returns to the conversation that was open). */
export function showList() {
  if (location.hash) history.pushState(null, "", location.pathname + location.search);
}
