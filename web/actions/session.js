// Who is signed in and what their organization may do: the demo users (local runner), the
// token, the channel status, and the live connection (push) for the organization.

import { clearAddress } from "../address.js";
import { apiUrl, authorize, call, currentToken, onUnauthorized, tokenClaims } from "../api.js";
import { openLive } from "../live.js";
import { config, state, update } from "../state.js";
import { loadContacts } from "./contacts.js";
import { loadInbox } from "./inbox.js";
import { applyLiveEvent, liveChanged, selectContact } from "./conversation.js";
import { forgetDrafts } from "./drafts.js";
import { forgetCanned } from "./canned.js";
import { forgetPresence } from "./presence.js";
import { forgetSenderHealth, loadSenderHealth } from "./health.js";
import { forgetFailures } from "./failures.js";
import { loadNotifyChoice } from "./notify.js";
import { loadTemplates } from "./templates.js";

let connection = null;
// The organization's live endpoint while connected (a fresh token reconnects to it).
let liveEndpoint = null;
let renewTimer = null;
const SIGNED_OUT = "Your sign-in has expired. Sign in to the CRM again.";
// The renewal under way (every call refused at once waits for the same one).
let renewing = null;

/**
 * The local runner's demo users (config.token "local-demo"): the first one's token, or null
 * when the page is not served by the local runner.
 */
export async function loadDemoUsers() {
  if (config.token !== "local-demo") return null;
  try {
    const response = await fetch(apiUrl("/local/demo"));
    if (!response.ok) return null;
    const demo = await response.json();
    update({ organizations: demo.organizations });
    // `?agent=<sub>`: the sandbox panel opened the page as another demo agent.
    const wanted = new URLSearchParams(location.search).get("agent");
    const agent = wanted && demo.organizations.flatMap((o) => o.agents || []).find((a) => a.sub === wanted);
    if (agent) return agent.token;
    return (demo.organizations[0] && demo.organizations[0].token) || null;
  } catch {
    return null;
  }
}

/**
 * The token of a sign-in: the CRM's getter (`config.getToken()`) when it provides one; the
 * local runner with real Twilio prints links (`/#token=…`; the
 * fragment never leaves the browser and is removed from the address bar at once); a deployed
 * page reads what the CRM's sign-in put in sessionStorage.
 */
export async function signInToken() {
  if (typeof config.getToken === "function") {
    try {
      const token = await config.getToken();
      if (token) return token;
    } catch {
      // The CRM's getter failed: its sessionStorage item, if any.
    }
  }
  if (config.token === "local-demo") {
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    if (token) history.replaceState(null, "", location.pathname + location.search);
    return token;
  }
  if (config.token === "session") return sessionStorage.getItem(config.tokenKey || "crm.id_token");
  return null;
}

/** When a JWT lapses (ms since the epoch), or null when it does not say. */
function expiresAt(token) {
  const exp = Number(tokenClaims(token).exp);
  return Number.isFinite(exp) && exp > 0 ? exp * 1000 : null;
}

/** Whether a token may stand in for the signed-in agent's: not lapsed, and the same agent. */
function usableFor(token, sub) {
  if (typeof token !== "string" || !token) return false;
  const exp = expiresAt(token);
  if (exp !== null && exp <= Date.now()) return false;
  const claimed = tokenClaims(token).sub;
  return !claimed || !sub || claimed === sub;
}

/**
 * A fresh token from wherever the CRM keeps it: its getter (`config.getToken()`), its
 * sessionStorage item, or (the local runner) the demo token refresh. Null when it has none.
 */
async function freshToken() {
  try {
    if (typeof config.getToken === "function") return (await config.getToken()) || null;
    if (config.token === "session") return sessionStorage.getItem(config.tokenKey || "crm.id_token");
    if (config.token === "local-demo") {
      const response = await fetch(apiUrl("/local/token"), { method: "POST", headers: { Authorization: `Bearer ${currentToken()}` } });
      return response.ok ? (await response.json()).token : null;
    }
  } catch {
    // The CRM could not say: as if it had none.
  }
  return null;
}

/**
 * Takes a fresh token before the current one lapses (a minute before; half the time left
 * for a short-lived one), and on a 401. Calls and the live connection go on with it; only
 * when the CRM has no valid token left does the page ask the agent to sign in.
 */
export function renewToken() {
  if (renewing) return renewing;
  const identity = state.token;
  const sub = state.agentSub;
  renewing = (async () => {
    const fresh = await freshToken();
    if (identity !== state.token) return null;
    if (!usableFor(fresh, sub) || fresh === currentToken()) {
      const lapsed = expiresAt(currentToken());
      if (lapsed !== null && lapsed <= Date.now()) {
        update({ channelStatus: SIGNED_OUT });
        return null;
      }
      keepFresh(30000);
      return null;
    }
    authorize(fresh);
    if (state.channelStatus === SIGNED_OUT) update({ channelStatus: "" });
    keepFresh();
    // The live connection moves to the fresh token before the old one lapses.
    if (liveEndpoint && connection) connectLive(liveEndpoint);
    return fresh;
  })().finally(() => {
    renewing = null;
  });
  return renewing;
}

/** Schedules the next renewal (`retryMs`: sooner, after one that found nothing new). */
function keepFresh(retryMs) {
  clearTimeout(renewTimer);
  const exp = expiresAt(currentToken());
  if (exp === null) return;
  const left = exp - Date.now();
  const due = left > 120000 ? left - 60000 : left / 2;
  renewTimer = setTimeout(renewToken, Math.max(1000, retryMs ? Math.min(retryMs, due) : due));
}

// A call refused with a token of the signed-in agent tries again with the current token (a
// draft saved with the one it was typed under), or a fresh one. Another agent's: never.
onUnauthorized((refused) => {
  const sub = tokenClaims(refused).sub;
  if (!state.token || (sub && state.agentSub && sub !== state.agentSub)) return null;
  if (refused !== currentToken() && usableFor(currentToken(), state.agentSub)) return currentToken();
  return renewToken();
});

export function switchUser(token) {
  // The previous user's drafts are saved under their own token first, and their
  // conversation's address goes (it names a contact of their organization).
  if (state.token) clearAddress();
  forgetDrafts();
  forgetFailures();
  // The open conversation closes before the new token is in force: nothing of it (a read
  // marker) may be asked of the new user's organization.
  selectContact(null);
  forgetPresence();
  forgetCanned();
  forgetSenderHealth();
  authorize(token);
  const org = state.organizations.find((o) => o.token === token || (o.agents || []).some((a) => a.token === token));
  const demoAgent = org && [org.user && { ...org.user, token: org.token }, ...(org.agents || [])].find((a) => a && a.token === token);
  update((s) => {
    s.token = token;
    s.organization = org ? org.organization_id : null;
    s.agentSub = demoAgent ? demoAgent.sub : tokenClaims(token).sub || null;
    // The agent's name as the API records it (the token's name, else email, else sub).
    const claims = tokenClaims(token);
    s.agentName = (demoAgent && demoAgent.name) || claims.name || claims.email || claims.sub || "";
    s.contacts = [];
    s.contactsCursor = null;
    s.inbox = new Map();
    s.inboxCursor = null;
    s.inboxPages = 0;
    s.unreadTotal = null;
    s.unreadBaseline = new Map();
    // Buttons being built were the previous user's, for their organization's contacts.
    s.interactive = new Map();
    s.generation += 1;
  });
  document.dispatchEvent(new CustomEvent("whatsapp:user", { detail: state.agentSub }));
  keepFresh();
  loadNotifyChoice();
  loadChannel();
  loadContacts(true);
  loadInbox();
}

function setLive(status) {
  update({ live: status });
  liveChanged();
}

/** Subscribes to the organization's channel (or polls, when push is not configured). */
function connectLive(endpoint) {
  if (connection) connection.close();
  connection = null;
  liveEndpoint = endpoint;
  if (!endpoint || config.live === false) return setLive("off");
  // `token` is who is signed in; the connection authenticates with the freshest token.
  const token = state.token;
  connection = openLive(endpoint, currentToken, {
    onEvent: (event) => token === state.token && applyLiveEvent(event),
    onStatus: (status) => token === state.token && setLive(status),
    minDelayMs: config.liveRetryMs || 1000,
  });
}

/** Who messages go out as, for the agent: the numbers, and the Messaging Service picking among them. */
function senderLabel(channel) {
  const numbers = (channel.senders || []).join(", ") || channel.sender || "";
  if (!channel.messaging_service_sid) return numbers;
  return numbers ? `${numbers} (Messaging Service)` : "a Messaging Service";
}

async function loadChannel() {
  const token = state.token;
  try {
    // The senders' health comes after, in a read of its own: it may wait on Twilio.
    const channel = await call("GET", "/whatsapp/channel?sender_health=false");
    if (token !== state.token) return;
    update({ channelEnabled: channel.enabled, channelStatus: channel.enabled ? "" : channel.reason, sender: senderLabel(channel) });
    if (channel.enabled) {
      loadTemplates();
      connectLive(channel.live);
      loadSenderHealth();
    } else {
      connectLive(null);
      forgetSenderHealth();
    }
  } catch (e) {
    if (token !== state.token) return;
    update({ channelEnabled: false, channelStatus: e.message, sender: null });
    connectLive(null);
    forgetSenderHealth();
  }
}
