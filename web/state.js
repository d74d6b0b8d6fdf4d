// What the page knows: its deployment configuration and the state every module shares.

export const config = window.WHATSAPP_CONFIG || {};

export const state = {
  token: null,
  organization: null,
  organizations: [],
  channelEnabled: false,
  contacts: [],
  contactsCursor: null,
  search: "",
  contact: null,
  messages: new Map(),
  after: null,
  before: null,
  loadingOlder: false,
  pollTimer: null,
  pollFailures: 0,
  attachments: [],
  // The composition being sent and its Idempotency-Key ({key, body}), until it is accepted.
  compose: null,
  // Bumped whenever what is on screen changes owner (user, contact, search): answers to
  // requests of an older generation are dropped.
  generation: 0,
  // The selected contact as the last conversation page saw it ({eligible, ineligible_reason}).
  contactState: null,
  windowOpen: true,
  // The organization's approved templates (null while loading), why they could not be read,
  // whether the picker is open inside the window, the chosen one and its variable values.
  templates: null,
  templatesError: null,
  templatesOpen: false,
  template: null,
  templateValues: {},
};

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
 * Keeps, per message id, the copy with the highest revision: polls re-read a settle window
 * and answers can arrive out of order (a send's 202 after a poll that saw the message
 * SENT), so an older copy never replaces a newer one. Returns whether anything changed.
 */
export function keepNewest(m) {
  const known = state.messages.get(m.id);
  if (known && known.revision && m.revision && known.revision >= m.revision) return false;
  state.messages.set(m.id, m);
  return true;
}
