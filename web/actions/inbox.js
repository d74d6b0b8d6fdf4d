// The inbox: the organization's conversations, the most recent activity first, with their
// unread counts; what push and polls say of them; and the read marker, sent once the newest
// message of the open conversation is on screen.
//
// Rows are kept per contact with the highest `version` (push and polls both bring them, in
// any order). With push up, the first page is read on every (re)connect and then only as a
// safety net every 5 minutes; without push it is polled (10 s, 30 s while hidden).

import { call } from "../api.js";
import { toast } from "../dom.js";
import { config, state, update } from "../state.js";

const INBOX_PAGE = 25;
const POLL_MS = () => config.inboxPollMs || 10000;
const HIDDEN_POLL_MS = () => config.inboxHiddenPollMs || 30000;
const SAFETY_MS = () => config.inboxSafetyMs || 300000;

let pollTimer = null;
// The read marker being sent, per contact (one request at a time).
const reading = new Map();

/** Keeps, per contact, the row with the highest version; returns whether it changed. */
function keepNewestRow(rows, row) {
  const known = rows.get(row.contact_id);
  if (known && known.version >= row.version) return false;
  // A pushed row carries no contact: it keeps the one the list gave.
  rows.set(row.contact_id, { ...row, contact: row.contact || (known && known.contact) });
  return true;
}

/** The first page again (`more` false: a refresh, which keeps the pages loaded after it), or the next page. */
export async function loadInbox(more = false) {
  const token = state.token;
  const params = new URLSearchParams({ limit: String(config.inboxPageSize || INBOX_PAGE) });
  if (more && state.inboxCursor) params.set("cursor", state.inboxCursor);
  try {
    const page = await call("GET", `/whatsapp/conversations?${params}`);
    if (token !== state.token) return;
    const rows = new Map(state.inbox);
    for (const row of page.conversations) keepNewestRow(rows, row);
    update((s) => {
      s.inbox = rows;
      if (more || s.inboxPages <= 1) {
        s.inboxCursor = page.next_cursor;
        s.inboxPages = more ? s.inboxPages + 1 : 1;
      }
    });
  } catch (e) {
    // A refresh that fails is tried again at the next poll (the contacts say why meanwhile).
    if (token === state.token && more) toast(e.message);
  } finally {
    if (!more && token === state.token) scheduleInboxPoll();
  }
}

export function scheduleInboxPoll() {
  clearTimeout(pollTimer);
  if (!state.token) return;
  const delay = state.live === "up" ? SAFETY_MS() : document.hidden ? HIDDEN_POLL_MS() : POLL_MS();
  pollTimer = setTimeout(() => loadInbox(), delay);
}

/** A `conversation` push event: the row moves to its place; a contact not known yet means a new conversation: the first page is read again for it. */
export function applyConversationEvent(row) {
  if (!row || !row.contact_id) return;
  const rows = new Map(state.inbox);
  if (!rows.has(row.contact_id)) {
    loadInbox();
    return;
  }
  if (keepNewestRow(rows, row)) update({ inbox: rows });
}

/** How a contact stands now (a push event, a conversation poll): its row shows it at once. */
export function updateRowContact(contact) {
  const row = contact && state.inbox.get(contact.contact_id);
  if (!row || JSON.stringify(row.contact) === JSON.stringify(contact)) return;
  const rows = new Map(state.inbox);
  rows.set(contact.contact_id, { ...row, contact });
  update({ inbox: rows });
}

/** The contact deleted in the CRM leaves the inbox. */
export function dropConversation(contactId) {
  if (!state.inbox.has(contactId)) return;
  const rows = new Map(state.inbox);
  rows.delete(contactId);
  update({ inbox: rows });
}

/**
 * The open conversation's newest message is on screen: marks the conversation read up to it
 * when the row says something is unread. Once per marker; a failure is retried at the next
 * chance, never shown.
 */
export async function markSeen(messageId) {
  const contact = state.contact;
  if (!contact || !messageId) return;
  const row = state.inbox.get(contact.contact_id);
  if (!row || !row.unread_count) return;
  if (row.last_read_message_id && row.last_read_message_id >= messageId) return;
  if (reading.get(contact.contact_id) === messageId) return;
  reading.set(contact.contact_id, messageId);
  try {
    const answer = await call("POST", `/whatsapp/conversations/${encodeURIComponent(contact.contact_id)}/read`, { up_to: messageId });
    const rows = new Map(state.inbox);
    if (keepNewestRow(rows, answer)) update({ inbox: rows });
  } catch {
    // Seen again later (the next message, the next render), it is sent again.
  } finally {
    if (reading.get(contact.contact_id) === messageId) reading.delete(contact.contact_id);
  }
}

/** The organization's unread total, over the conversations the page knows. */
export function unreadTotal(s) {
  let total = 0;
  for (const row of s.inbox.values()) total += row.unread_count || 0;
  return total;
}
