// The conversation with the selected contact: the first page, older pages, and what is new
// or changed (replies, status ticks), from two transports that both feed the store through
// the same newest-revision rule: push events (actions/session.js connects) and `after=`
// polls. The cursor stays the truth: one poll on every (re)connect, safety-net polls while
// push is up, and polling as before (3 s, 15 s hidden) while it is not.
//
// The safety net starts at 60 s after each (re)connect and doubles, up to 10 minutes, each
// time it finds nothing push had not brought; a poll that finds something push missed sets
// it back to 60 s. An idle tab thus polls about 8 times an hour instead of 60
// (docs/benchmarks.md, "Idle open tab").

import { addressedContactId, clearAddress, showAddress, showList } from "../address.js";
import { call } from "../api.js";
import { toast } from "../dom.js";
import { SENTENCES } from "../rules.js";
import { config, isPending, keepNewest, state, update } from "../state.js";
import { dropContact, loadContacts } from "./contacts.js";
import { flushDrafts, openDraft } from "./drafts.js";
import { alreadyKnown, failuresSeen, outboundChanged } from "./failures.js";
import { applyConversationEvent, dropConversation, loadInbox, scheduleInboxPoll, updateRowContact } from "./inbox.js";
import { applyPresenceEvent, presenceListed, presenceOpened } from "./presence.js";

const pageLimit = () => (config.messagesPageSize ? `&limit=${config.messagesPageSize}` : "");
const SAFETY_POLL_MS = () => config.livePollMs || 60000;
const SAFETY_POLL_MAX_MS = () => config.livePollMaxMs || 600000;

let pollTimer = null;
let pollFailures = 0;
// The next safety-net poll's delay while push is up.
let safetyMs = SAFETY_POLL_MS();

/**
 * Opens a contact's conversation (null: none). `fromAddress`: the address named it (a load,
 * Back or Forward, a link), so the address stays as it is; else the conversation's address is
 * shown.
 */
export function selectContact(contact, { fromAddress = false } = {}) {
  if (contact && !fromAddress) showAddress(contact.contact_id);
  clearTimeout(pollTimer);
  // What was typed in the conversation being left is saved with it, now.
  flushDrafts();
  update((s) => {
    s.contact = contact;
    const row = contact && s.inbox.get(contact.contact_id);
    // Where the unread messages begin, as the conversation was when opened.
    s.readMarker = row && row.unread_count ? { after: row.last_read_message_id, count: row.unread_count } : null;
    s.messages = new Map();
    s.conversationError = null;
    s.after = null;
    s.before = null;
    s.contactState = null;
    s.windowOpen = true;
    s.windowClosesAt = null;
    s.templatesOpen = false;
    s.template = null;
    s.templateValues = {};
    s.collision = null;
    s.generation += 1;
  });
  presenceOpened(contact ? contact.contact_id : null);
  if (!contact) return;
  failuresSeen(contact.contact_id);
  openDraft(contact.contact_id);
  loadConversation();
}

async function loadConversation() {
  const generation = state.generation;
  const contact = state.contact;
  try {
    const page = await call("GET", `/whatsapp/messages?contact_id=${encodeURIComponent(contact.contact_id)}${pageLimit()}`);
    if (generation !== state.generation) return;
    applyPage(page, false, { before: page.next_before, conversationError: "" });
    presenceListed(contact.contact_id, page.viewers);
  } catch (e) {
    if (generation !== state.generation) return;
    // An address naming a contact that is not the organization's (or no longer): the list.
    if (e.status === 404 && !contact.name) {
      clearAddress();
      return selectContact(null);
    }
    if (e.status === 404) return contactGone(contact.contact_id);
    update({ conversationError: e.message });
  }
  schedulePoll();
}

/** The contact as the page knows it (an inbox row, the picker), else only its id. */
function knownContact(contactId) {
  const row = state.inbox.get(contactId);
  if (row && row.contact) return row.contact;
  return state.contacts.find((c) => c.contact_id === contactId) || { contact_id: contactId, name: "" };
}

/** Opens what the address names (the page loaded, Back or Forward, a link followed). */
export function openAddressed() {
  const id = addressedContactId();
  const open = state.contact && state.contact.contact_id;
  if (id === open) return;
  selectContact(id ? knownContact(id) : null, { fromAddress: true });
}

/** The window's end has come on screen: free-form ends now (the next answer confirms it). */
export function windowLapsed() {
  if (state.windowOpen && state.windowClosesAt && Date.parse(state.windowClosesAt) <= Date.now()) update({ windowOpen: false });
}

/** Back to the list (a phone shows one pane at a time): the conversation closes, its draft saved. */
export function closeConversation() {
  showList();
  selectContact(null, { fromAddress: true });
}

// The CRM deleted the contact (the API no longer knows it): its conversation is erased on the
// server, so it leaves the screen too; the composer locks and the picker drops the contact.
function contactGone(contactId) {
  dropConversation(contactId);
  if (!state.contact || state.contact.contact_id !== contactId) return dropContact(contactId);
  clearTimeout(pollTimer);
  update({
    messages: new Map(),
    after: null,
    before: null,
    conversationError: "",
    contactState: { eligible: false, ineligible_reason: SENTENCES.contactDeleted },
  });
  dropContact(contactId);
}

/** Announces a send that failed since it was last seen (a poll's or push's news). */
function announceFailure(before, m) {
  if (m.status === "FAILED" && m.direction === "OUTBOUND" && (!before || before.status !== "FAILED")) {
    toast(m.error_reason || SENTENCES.sendFailed);
  }
}

// `news`: the page is a poll's, so a send that failed since is announced. Returns whether
// any message was new or newer than the one shown.
function applyPage(page, news, extra = {}) {
  const messages = new Map(state.messages);
  const oldest = news ? oldestLoaded(messages) : null;
  let changed = false;
  for (const m of page.messages) {
    const before = messages.get(m.id);
    // A tick for a message on a page not loaded yet: that page brings it when scrolled to.
    if (!before && oldest && earlier(m, oldest)) continue;
    if (!keepNewest(messages, m)) continue;
    changed = true;
    if (news) announceFailure(before, m);
    // A failure seen here is not news when this conversation is left.
    if (m.status === "FAILED") alreadyKnown(m.id);
  }
  const eligibleBefore = !state.contactState || state.contactState.eligible;
  update((s) => {
    s.messages = messages;
    if (page.next_after) s.after = page.next_after;
    if (page.window) {
      s.windowOpen = page.window.open;
      s.windowClosesAt = page.window.closes_at || null;
    }
    if (page.contact) s.contactState = page.contact;
    // Opened from its address alone: the conversation's answer names the contact.
    if (page.contact && s.contact && !s.contact.name && page.contact.contact_id === s.contact.contact_id) {
      s.contact = { ...s.contact, ...page.contact };
    }
    Object.assign(s, extra);
  });
  if (page.contact) updateRowContact(page.contact);
  // A contact who sent STOP (or was blocked) leaves the picker; one who may again, returns.
  if (news && page.contact && eligibleBefore !== page.contact.eligible) loadContacts(true);
  return changed;
}

/** The oldest stored message shown while older pages remain, else null (everything is loaded). */
function oldestLoaded(messages) {
  if (!state.before) return null;
  let oldest = null;
  for (const m of messages.values()) if (!isPending(m.id) && (!oldest || earlier(m, oldest))) oldest = m;
  return oldest;
}

/** The conversation's order (the server's): `created_at`, then id. */
function earlier(a, b) {
  const at = Date.parse(a.created_at);
  const bt = Date.parse(b.created_at);
  return at < bt || (at === bt && a.id < b.id);
}

/** A push event (shared::live::LiveEvent): applied like a poll's answer. */
export function applyLiveEvent(event) {
  const open = state.contact && state.contact.contact_id;
  if (event.type === "message" && event.message && event.message.contact_id === open) {
    applyPage({ messages: [event.message] }, true);
  } else if (event.type === "message" && event.message && event.message.contact_id) {
    outboundChanged(event.message.contact_id, event.message);
  } else if (event.type === "contact" && event.contact) {
    updateRowContact(event.contact);
    if (event.contact.contact_id === open) applyPage({ messages: [], contact: event.contact, window: event.window }, true);
    else if (!event.contact.eligible) dropContact(event.contact.contact_id);
  } else if (event.type === "conversation" && event.conversation) {
    applyConversationEvent(event.conversation);
  } else if (event.type === "contact_deleted" && event.contact_id) {
    contactGone(event.contact_id);
  } else if (event.type === "presence" && event.contact_id) {
    applyPresenceEvent(event);
  }
}

/** Push came up (a connect or a reconnect): catch up once, then poll only as a safety net. */
export function liveChanged() {
  safetyMs = SAFETY_POLL_MS();
  // The inbox catches up on every connect, then polls as push stands.
  if (state.live === "up") loadInbox();
  else scheduleInboxPoll();
  if (state.live === "up" && state.after) return pollSoon(0);
  schedulePoll();
}

export function schedulePoll() {
  clearTimeout(pollTimer);
  if (!state.contact) return;
  const base = state.live === "up"
    ? safetyMs
    : document.hidden ? config.hiddenPollMs || 15000 : config.pollMs || 3000;
  // A failing poll backs off (up to a minute) and recovers by itself.
  const delay = Math.max(base, Math.min(60000, base * 2 ** Math.min(pollFailures, 4)));
  pollTimer = setTimeout(poll, delay);
}

async function poll() {
  const generation = state.generation;
  const contact = state.contact;
  if (!contact || !state.after) return schedulePoll();
  try {
    const page = await call("GET", `/whatsapp/messages?contact_id=${encodeURIComponent(contact.contact_id)}&after=${encodeURIComponent(state.after)}`);
    if (generation !== state.generation) return;
    pollFailures = 0;
    const missed = applyPage(page, true);
    // Push up: the safety net relaxes while it finds nothing push missed.
    if (state.live === "up") safetyMs = missed ? SAFETY_POLL_MS() : Math.min(SAFETY_POLL_MAX_MS(), safetyMs * 2);
  } catch (e) {
    if (generation !== state.generation) return;
    if (e.status === 404) return contactGone(contact.contact_id);
    pollFailures += 1;
  }
  if (generation === state.generation) schedulePoll();
}

/**
 * Polls soon rather than at the next tick (the sandbox played the contact). With push up
 * there is nothing to do: the change is on its way.
 */
export function pollSoon(delay = 300) {
  if (delay > 0 && state.live === "up") return;
  clearTimeout(pollTimer);
  pollTimer = setTimeout(poll, delay);
}

export async function loadOlder() {
  if (!state.before || state.loadingOlder || !state.contact) return;
  const generation = state.generation;
  update({ loadingOlder: true });
  try {
    const page = await call("GET", `/whatsapp/messages?contact_id=${encodeURIComponent(state.contact.contact_id)}&before=${state.before}${pageLimit()}`);
    if (generation !== state.generation) return;
    const messages = new Map(state.messages);
    for (const m of page.messages) keepNewest(messages, m);
    update({ messages, before: page.next_before });
  } catch (e) {
    toast(e.message);
  } finally {
    update({ loadingOlder: false });
  }
}

/** A message the page shows at once (a send on its way), or takes back. */
export function showPending(message) {
  const messages = new Map(state.messages);
  messages.set(message.id, message);
  update({ messages, scrollToNewest: state.scrollToNewest + 1 });
}

export function withdraw(id) {
  const messages = new Map(state.messages);
  messages.delete(id);
  update({ messages });
}

/** What a send's 202 returned, kept by the newest-revision rule. */
export function accepted(list) {
  const messages = new Map(state.messages);
  for (const m of list) keepNewest(messages, m);
  update({ messages, scrollToNewest: state.scrollToNewest + 1 });
}
