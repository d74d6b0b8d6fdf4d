// Presence: who else is in a conversation, and telling the others where this agent is.
//
// Own: opening a conversation tells "viewing", typing in it "composing" (back to "viewing"
// 5 s after the last key), closing it or leaving the page "left" (`keepalive` on pagehide,
// so only a tab that died is left to the expiry). One request per change; while a state
// holds it is told again after the server's `renew_in_seconds` (2 minutes of a 5-minute
// lifetime), so others see it until it ends. A token without a user (no `sub`) has no
// presence. Presence is a courtesy: a request that fails is not retried (the renewal or the
// expiry settles it).
//
// Others': the conversation's newest page lists who is there (`viewers`), `presence` push
// events tell each change; each is shown until its `expires_at`, when it is dropped here.

import { call } from "../api.js";
import { config, state, update } from "../state.js";

const COMPOSING_ENDS_MS = () => config.composingEndsMs || 5000;

const path = (contactId) => `/whatsapp/conversations/${encodeURIComponent(contactId)}/presence`;

// This agent's presence: {contactId, state} (null: no conversation open). A user switch
// closes the conversation (telling "left") before the new token is in force.
let own = null;
let renewTimer = null;
let composingTimer = null;
let pruneTimer = null;

async function tell(presence, { keepalive = false } = {}) {
  if (!state.agentSub) return;
  clearTimeout(renewTimer);
  try {
    // The token in force now: a renewal outlives the token the conversation was opened under.
    const answer = await call("POST", path(presence.contactId), { state: presence.state }, {}, { keepalive });
    if (own === presence && presence.state !== "left" && answer.renew_in_seconds > 0) {
      renewTimer = setTimeout(() => own === presence && tell(presence), answer.renew_in_seconds * 1000);
    }
  } catch {
    // A courtesy to the other agents: the next change, the renewal or the expiry settles it.
  }
}

/** The agent opened a conversation (null: closed it): left where they were, viewing here. */
export function presenceOpened(contactId) {
  if (own && own.contactId === contactId) return;
  clearTimeout(composingTimer);
  if (own) tell({ ...own, state: "left" });
  own = contactId ? { contactId, state: "viewing" } : null;
  if (own) tell(own);
}

/** A key typed in the open conversation's composer (a message or a note). */
export function presenceTyping() {
  if (!own) return;
  clearTimeout(composingTimer);
  composingTimer = setTimeout(presenceIdle, COMPOSING_ENDS_MS());
  if (own.state === "composing") return;
  own = { ...own, state: "composing" };
  tell(own);
}

/** Writing stopped (a pause, or the composition went out): viewing again. */
export function presenceIdle() {
  clearTimeout(composingTimer);
  if (!own || own.state !== "composing") return;
  own = { ...own, state: "viewing" };
  tell(own);
}

/** The page is going away (`pagehide`): left, with a request that outlives it. */
export function presenceLeaving() {
  if (!own) return;
  clearTimeout(composingTimer);
  tell({ ...own, state: "left" }, { keepalive: true });
}

/** The page came back (restored from the back-forward cache): there again. */
export function presenceBack() {
  if (own) tell(own);
}

/** Drops what expired and wakes at the next expiry. */
function prune() {
  clearTimeout(pruneTimer);
  const now = Date.now();
  let next = Infinity;
  let changed = false;
  const presence = new Map();
  for (const [contactId, list] of state.presence) {
    const kept = list.filter((p) => Date.parse(p.expires_at) > now);
    changed ||= kept.length !== list.length;
    for (const p of kept) next = Math.min(next, Date.parse(p.expires_at));
    if (kept.length) presence.set(contactId, kept);
  }
  if (changed) update({ presence });
  if (next < Infinity) pruneTimer = setTimeout(prune, Math.max(50, next - now + 50));
}

/** Another agent's presence changed (a push event); this agent's own other tabs are not shown. */
export function applyPresenceEvent(event) {
  if (!event.agent || event.agent.sub === state.agentSub) return;
  update((s) => {
    const presence = new Map(s.presence);
    const others = (presence.get(event.contact_id) || []).filter((p) => p.agent.sub !== event.agent.sub);
    if (event.state !== "left") others.push({ agent: event.agent, state: event.state, expires_at: event.expires_at });
    if (others.length) presence.set(event.contact_id, others);
    else presence.delete(event.contact_id);
    s.presence = presence;
  });
  prune();
}

/** Who the conversation's newest page says is there (the other agents). */
export function presenceListed(contactId, viewers) {
  if (!Array.isArray(viewers)) return;
  update((s) => {
    const presence = new Map(s.presence);
    const others = viewers.filter((p) => p.agent.sub !== s.agentSub);
    if (others.length) presence.set(contactId, others);
    else presence.delete(contactId);
    s.presence = presence;
  });
  prune();
}

/** Another user or organization: nothing of the old one's presence stays. */
export function forgetPresence() {
  update({ presence: new Map() });
}
