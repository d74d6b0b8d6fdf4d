// Who is signed in and what their organization may do: the demo users (local runner), the
// token, the channel status, and the live connection (push) for the organization.

import { clearAddress } from "../address.js";
import { apiUrl, authorize, call, tokenClaims } from "../api.js";
import { openLive } from "../live.js";
import { config, state, update } from "../state.js";
import { loadContacts } from "./contacts.js";
import { loadInbox } from "./inbox.js";
import { applyLiveEvent, liveChanged, selectContact } from "./conversation.js";
import { forgetDrafts } from "./drafts.js";
import { forgetFailures } from "./failures.js";
import { loadTemplates } from "./templates.js";

let connection = null;

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
    return (demo.organizations[0] && demo.organizations[0].token) || null;
  } catch {
    return null;
  }
}

/**
 * The token of a sign-in: the local runner with real Twilio prints links (`/#token=…`; the
 * fragment never leaves the browser and is removed from the address bar at once); a deployed
 * page reads what the CRM's sign-in put in sessionStorage.
 */
export function signInToken() {
  if (config.token === "local-demo") {
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    if (token) history.replaceState(null, "", location.pathname + location.search);
    return token;
  }
  if (config.token === "session") return sessionStorage.getItem(config.tokenKey || "crm.id_token");
  return null;
}

export function switchUser(token) {
  // The previous user's drafts are saved under their own token first, and their
  // conversation's address goes (it names a contact of their organization).
  if (state.token) clearAddress();
  forgetDrafts();
  forgetFailures();
  // The open conversation closes before the new token is in force: nothing of it (a read
  // marker) may be asked of the new user's organization.
  selectContact(null);
  authorize(token);
  const org = state.organizations.find((o) => o.token === token || (o.agents || []).some((a) => a.token === token));
  const demoAgent = org && [org.user && { ...org.user, token: org.token }, ...(org.agents || [])].find((a) => a && a.token === token);
  update((s) => {
    s.token = token;
    s.organization = org ? org.organization_id : null;
    s.agentSub = demoAgent ? demoAgent.sub : tokenClaims(token).sub || null;
    s.contacts = [];
    s.contactsCursor = null;
    s.inbox = new Map();
    s.inboxCursor = null;
    s.inboxPages = 0;
    s.unreadTotal = null;
    s.unreadBaseline = new Map();
    s.generation += 1;
  });
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
  if (!endpoint || config.live === false) return setLive("off");
  const token = state.token;
  connection = openLive(endpoint, token, {
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
    const channel = await call("GET", "/whatsapp/channel");
    if (token !== state.token) return;
    update({ channelEnabled: channel.enabled, channelStatus: channel.enabled ? "" : channel.reason, sender: senderLabel(channel) });
    if (channel.enabled) {
      loadTemplates();
      connectLive(channel.live);
    } else {
      connectLive(null);
    }
  } catch (e) {
    if (token !== state.token) return;
    update({ channelEnabled: false, channelStatus: e.message, sender: null });
    connectLive(null);
  }
}
