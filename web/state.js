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
  // Bumped whenever what is on screen changes owner (user, contact, search): answers to
  // requests of an older generation are dropped.
  generation: 0,
  // The selected contact as the last conversation page saw it ({eligible, ineligible_reason}).
  contactState: null,
  windowOpen: true,
};
