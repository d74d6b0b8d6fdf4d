// The page's one store: its state, `update` (the only way to change it) and `subscribe`
// (views render from it). Actions change it; views read it. Pure rules that several parts
// need (the newest-revision rule, whether the composer is usable) live here, once.

export const config = window.WHATSAPP_CONFIG || {};

export const state = {
  token: null,
  organization: null,
  organizations: [],
  // The signed-in agent's `sub` (whose messages say "You"), null when not known, and name.
  agentSub: null,
  agentName: "",
  channelEnabled: false,
  // Why the channel cannot be used (or the error reading it); "" when it can.
  channelStatus: "",
  sender: null,
  // The senders' health: undefined (not read, or no channel), null (Twilio could not be
  // read), or `sender_health`'s list.
  senderHealth: undefined,
  // Live updates: "off" (not configured), "connecting", "up", "down", "refused".
  live: "off",
  contacts: [],
  contactsCursor: null,
  search: "",
  contact: null,
  // The inbox: contact id → its conversation row (the highest version seen), the next page's
  // cursor and how many pages are loaded.
  inbox: new Map(),
  inboxCursor: null,
  inboxPages: 0,
  // The organization's unread total as the first page gave it (null: not known yet), and the
  // unread count of each of that page's rows then (unreadTotal in actions/inbox.js).
  unreadTotal: null,
  unreadBaseline: new Map(),
  // Conversations with a message that failed while they were not open (contact id → message
  // id) until opened, and the notices telling of them (until dismissed or opened).
  failedMarks: new Map(),
  failureNotices: [],
  // Whether the agent asked for a chime and a desktop notification while the tab is hidden,
  // and whether the browser blocks the notifications.
  notify: false,
  notifyBlocked: false,
  // The emoji picker: open or not, its groups once read (null before), why they could not be.
  emojiOpen: false,
  emojiGroups: null,
  emojiError: "",
  // Failed messages this tab sent again (their "Retry" is done).
  retried: new Set(),
  // The open conversation's read marker when it was opened (where "N unread messages" goes).
  readMarker: null,
  // Message id → the newest copy seen (replaced by a new Map on every change).
  messages: new Map(),
  // Why the conversation could not be read ("" when it could; null while loading).
  conversationError: null,
  after: null,
  before: null,
  loadingOlder: false,
  // Bumped to ask the conversation view to scroll to the newest message (own sends).
  scrollToNewest: 0,
  // Attachments of every conversation's composer this tab holds (each names its `contactId`:
  // an upload goes on when the agent opens another conversation); `composerAttachments`
  // picks the open one's.
  attachments: [],
  // The open conversation's text as typed (its draft), and a counter bumped whenever the
  // composer must show another one (a conversation opened, a draft read, a send).
  draftText: "",
  draftShown: 0,
  // The composition being sent and its Idempotency-Key ({key, body}), until it is accepted.
  compose: null,
  sending: false,
  // Bumped whenever what is on screen changes owner (user, contact, search): answers to
  // requests of an older generation are dropped.
  generation: 0,
  // The selected contact as the server last told it ({eligible, ineligible_reason}).
  contactState: null,
  windowOpen: true,
  // When the 24-hour window closes (ISO time; null: the contact never wrote, or not known).
  windowClosesAt: null,
  // The organization's approved templates (null while loading), why they could not be read,
  // whether the picker is open inside the window, the chosen one and its variable values.
  templates: null,
  templatesError: null,
  templatesOpen: false,
  template: null,
  templateValues: {},
  templateSending: false,
  // What the composer writes: "message" (to the contact) or "note" (to the other agents).
  composeMode: "message",
  // A send refused because the conversation changed since the agent looked (409
  // conversation_changed): {body, key, news} until sent anyway or edited.
  collision: null,
  // Other agents in each conversation: contact id → [{agent, state, expires_at}].
  presence: new Map(),
  // The organization's canned responses (null until read), why they could not be, the
  // `/` list (`{query, index}` while open), the response whose blanks are being filled
  // (`{response, values}`), and whether the dialog that manages them is open.
  canned: null,
  cannedError: "",
  cannedPick: null,
  cannedFill: null,
  cannedDialog: false,
  // Buttons or a list being built, per conversation (contact id → `{type, body, buttons,
  // button, items}`): a conversation opened again shows its builder as it was left.
  interactive: new Map(),
  interactiveSending: false,
};

const listeners = new Set();

/** Changes the state (an object of fields, or a function that changes it) and tells views. */
export function update(change) {
  if (typeof change === "function") change(state);
  else Object.assign(state, change);
  for (const listener of listeners) listener(state);
}

/** Calls `listener(state)` after every update; returns the unsubscribe function. */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * The Idempotency-Key of a composition: the same while the same body is sent again (a retry
 * after an error), a new one for anything else. The sender clears `state.compose` once accepted.
 */
export function composeKey(body) {
  const composed = JSON.stringify(body);
  if (!state.compose || state.compose.body !== composed) {
    const key = globalThis.crypto && crypto.randomUUID
      ? crypto.randomUUID()
      : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
    state.compose = { key, body: composed };
  }
  return state.compose.key;
}

/**
 * Keeps, per message id, the copy with the highest revision: polls re-read a settle window,
 * push and poll both bring changes, and answers can arrive out of order (a send's 202 after
 * a poll that saw the message SENT), so an older copy never replaces a newer one. Returns
 * whether `messages` changed.
 */
export function keepNewest(messages, m) {
  const known = messages.get(m.id);
  if (known && known.revision && m.revision && known.revision >= m.revision) return false;
  messages.set(m.id, m);
  return true;
}

/**
 * A message the page shows while its send is under way carries an id of its own: "~" sorts
 * after every server id, so it stays at the bottom until the server's copy replaces it. Only
 * server ids may be named to the API (a read marker, a cursor).
 */
export const PENDING_ID_PREFIX = "~pending-";
export function isPending(id) {
  return id.startsWith(PENDING_ID_PREFIX);
}

/**
 * What the composer may do now: `usable` (a channel, a contact who may be written to),
 * `templatesOnly` (outside the 24-hour window only a template may go). A note reaches no one
 * outside: it may be written in any open conversation, whatever the contact or the window.
 */
export function composing(s) {
  if (s.composeMode === "note") return { usable: !!s.contact, templatesOnly: false, note: true };
  const eligible = !s.contactState || s.contactState.eligible;
  const usable = s.channelEnabled && !!s.contact && eligible;
  return { usable, templatesOnly: usable && s.windowOpen === false, note: false };
}

/** The other agents in a conversation now (not expired), by name. */
export function presentAgents(s, contactId, now = Date.now()) {
  return (s.presence.get(contactId) || [])
    .filter((p) => Date.parse(p.expires_at) > now)
    .sort((a, b) => a.agent.name.localeCompare(b.agent.name));
}

/** The open conversation's attachments (its composer's chips). */
export function composerAttachments(s) {
  return s.contact ? s.attachments.filter((a) => a.contactId === s.contact.contact_id) : [];
}

/** The open conversation's buttons or list being built, or null. */
export function builderOf(s) {
  return (s.contact && s.interactive.get(s.contact.contact_id)) || null;
}
