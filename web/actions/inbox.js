// The inbox: the organization's conversations, the most recent activity first, with their
// unread counts; what push and polls say of them; and the read marker, sent once the newest
// message of the open conversation is on screen.
//
// Rows are kept per contact with the highest `version` (push and polls both bring them, in
// any order). With push up, the first page is read on every (re)connect and then only as a
// safety net every 5 minutes; without push it is polled (10 s, 30 s while hidden). A refresh
// also brings how a row's contact stands now, and drops the rows the server no longer lists
// (a contact deleted or erased) in the range it covered.
//
// The tab title's total is the server's (`unread_total`, with the first page) plus what
// changed since in the rows of that page; a change to any other row reads the first page
// again, so the total never counts a conversation twice or misses one beyond the pages loaded.

import { call } from "../api.js";
import { toast } from "../dom.js";
import { config, isPending, state, update } from "../state.js";
import { alreadyKnown, outboundChanged } from "./failures.js";
import { inboundArrived } from "./notify.js";

const INBOX_PAGE = 25;
const POLL_MS = () => config.inboxPollMs || 10000;
const HIDDEN_POLL_MS = () => config.inboxHiddenPollMs || 30000;
const SAFETY_MS = () => config.inboxSafetyMs || 300000;

let pollTimer = null;
let refreshTimer = null;
// The read marker being sent, per contact (one request at a time).
const reading = new Map();
// The marker last sent for a conversation without a row (beyond the pages loaded).
const readUnlisted = new Map();

/** Keeps, per contact, the row with the highest version; returns whether it changed. */
function keepNewestRow(rows, row) {
  const known = rows.get(row.contact_id);
  if (known && known.version > row.version) return false;
  if (known && known.version === row.version) {
    // The same conversation; its contact may stand otherwise now (opted out, renamed).
    if (!row.contact || JSON.stringify(row.contact) === JSON.stringify(known.contact)) return false;
    rows.set(row.contact_id, { ...known, contact: row.contact });
    return true;
  }
  // A pushed row carries no contact: it keeps the one the list gave.
  rows.set(row.contact_id, { ...row, contact: row.contact || (known && known.contact), receivedAt: Date.now() });
  // A conversation whose newest message failed since it was last seen: told. Seen for the
  // first time (a page load), it is what the row shows, not news.
  if (known) outboundChanged(row.contact_id, row.last_message);
  else alreadyKnown(row.last_message.status === "FAILED" ? row.last_message.id : null);
  // A new message from the contact (not the first sight of the row): the agent may be told.
  const fresh = row.last_message.direction === "INBOUND" && (!known || known.last_message.id !== row.last_message.id);
  if (fresh && (known || state.inboxPages > 0)) inboundArrived(rows.get(row.contact_id));
  return true;
}

/** Reads the first page again soon, once for a burst of changes it has to account for. */
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => loadInbox(), 500);
}

/** A row changed by push or a read: counted in the total if its page did, else the first page is read again. */
function rowsChanged(rows, contactId) {
  update({ inbox: rows });
  if (state.unreadTotal !== null && !state.unreadBaseline.has(contactId)) refreshSoon();
}

/** The first page again (`more` false: a refresh, which keeps the pages loaded after it), or the next page. */
export async function loadInbox(more = false) {
  const token = state.token;
  const params = new URLSearchParams({ limit: String(config.inboxPageSize || INBOX_PAGE) });
  if (more && state.inboxCursor) params.set("cursor", state.inboxCursor);
  if (!more) clearTimeout(refreshTimer);
  const asked = Date.now();
  try {
    const page = await call("GET", `/whatsapp/conversations?${params}`);
    if (token !== state.token) return;
    const rows = new Map(state.inbox);
    for (const row of page.conversations) keepNewestRow(rows, row);
    if (!more) dropUnlisted(rows, page, asked);
    update((s) => {
      s.inbox = rows;
      if (more || s.inboxPages <= 1) {
        s.inboxCursor = page.next_cursor;
        s.inboxPages = more ? s.inboxPages + 1 : 1;
      }
      if (!more && typeof page.unread_total === "number") {
        s.unreadTotal = page.unread_total;
        s.unreadBaseline = new Map(page.conversations.map((row) => [row.contact_id, rows.get(row.contact_id).unread_count || 0]));
      }
    });
  } catch (e) {
    // A refresh that fails is tried again at the next poll (the contacts say why meanwhile).
    if (token === state.token && more) toast(e.message);
  } finally {
    if (!more && token === state.token) scheduleInboxPoll();
  }
}

/**
 * Rows known before the first page was asked for, in the range it covers (everything when
 * it is the last page), that it does not list: the server no longer has them (the contact
 * was deleted or erased, the conversation expired). Rows learned since are kept.
 */
function dropUnlisted(rows, page, asked) {
  const listed = new Set(page.conversations.map((row) => row.contact_id));
  const ids = page.conversations.map((row) => row.last_message.id).sort();
  const bottom = page.next_cursor ? ids[0] : "";
  if (page.next_cursor && bottom === undefined) return;
  for (const [id, row] of rows) {
    if (listed.has(id) || (row.receivedAt || 0) >= asked) continue;
    if (row.last_message.id >= bottom) rows.delete(id);
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
    refreshSoon();
    return;
  }
  if (keepNewestRow(rows, row)) rowsChanged(rows, row.contact_id);
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
 * when the row says something is unread — or, for a conversation beyond the pages loaded (no
 * row), when it holds an inbound message newer than its own read marker could be. Once per
 * marker; a failure is retried at the next chance, never shown.
 */
export async function markSeen(messageId) {
  const contact = state.contact;
  if (!contact || !messageId || isPending(messageId)) return;
  const row = state.inbox.get(contact.contact_id);
  if (row && !row.unread_count) return;
  if (!row && ![...state.messages.values()].some((m) => m.direction === "INBOUND")) return;
  if (row && row.last_read_message_id && row.last_read_message_id >= messageId) return;
  if (reading.get(contact.contact_id) === messageId || readUnlisted.get(contact.contact_id) === messageId) return;
  reading.set(contact.contact_id, messageId);
  try {
    const answer = await call("POST", `/whatsapp/conversations/${encodeURIComponent(contact.contact_id)}/read`, { up_to: messageId });
    const rows = new Map(state.inbox);
    if (!rows.has(answer.contact_id)) {
      // Not listed here: the total learns of it from the first page.
      readUnlisted.set(answer.contact_id, messageId);
      refreshSoon();
    } else if (keepNewestRow(rows, answer)) rowsChanged(rows, answer.contact_id);
  } catch {
    // Seen again later (the next message, the next render), it is sent again.
  } finally {
    if (reading.get(contact.contact_id) === messageId) reading.delete(contact.contact_id);
  }
}

/** The organization's unread total: the server's, moved by what changed since in the rows it was given with. */
export function unreadTotal(s) {
  if (s.unreadTotal === null) {
    let total = 0;
    for (const row of s.inbox.values()) total += row.unread_count || 0;
    return total;
  }
  let total = s.unreadTotal;
  for (const [id, then] of s.unreadBaseline) total += ((s.inbox.get(id) || {}).unread_count || 0) - then;
  return Math.max(0, total);
}
