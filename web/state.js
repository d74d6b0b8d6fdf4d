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
