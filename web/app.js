// The Send Message screen, WhatsApp channel: the entry module. Plain ES modules, no build step:
//   state.js         configuration and shared state      api.js       the HTTP API client
//   contacts.js      the contact picker                  conversation.js  messages and polling
//   composer.js      text and send                       uploads.js   attachments
//   templates.js     the approved-template picker (outside the 24-hour window, and on demand)
//   rules.js         WhatsApp's media rules and the page's own sentences
// The local runner adds its sandbox panel (/local/sandbox.js); a deployed page never loads it.

import { apiUrl, call } from "./api.js";
import { updateComposer, wireComposer } from "./composer.js";
import { loadContacts, wireContacts } from "./contacts.js";
import { pollSoon, selectContact, wireConversation } from "./conversation.js";
import { $, el, toast } from "./dom.js";
import { config, state } from "./state.js";
import { loadTemplates, wireTemplates } from "./templates.js";

// The local runner's demo users (config.token "local-demo"): the first one's token, or
// false when the page is not served by the local runner.
async function loadDemoUsers() {
  if (config.token !== "local-demo") return false;
  let demo;
  try {
    const response = await fetch(apiUrl("/local/demo"));
    if (!response.ok) return false;
    demo = await response.json();
  } catch {
    return false;
  }
  const select = $("demo-user");
  select.replaceChildren(
    ...demo.organizations.map((o) => el("option", { value: o.token, text: `${o.user.email} — ${o.name}` })),
  );
  $("demo-users").hidden = false;
  select.addEventListener("change", () => switchUser(select.value));
  state.organizations = demo.organizations;
  return demo.organizations[0] && demo.organizations[0].token;
}

// The local runner with real Twilio serves no demo users: it prints sign-in links
// (`/#token=…`) to its terminal instead. The fragment never leaves the browser; it is
// removed from the address bar at once.
function tokenFromSignInLink() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (token) history.replaceState(null, "", location.pathname + location.search);
  return token;
}

function switchUser(token) {
  state.token = token;
  const org = state.organizations.find((o) => o.token === token);
  state.organization = org ? org.organization_id : null;
  state.generation += 1;
  selectContact(null);
  loadChannel();
  loadContacts(true);
}

function showChannel(channel) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.channel === channel));
  }
  $("whatsapp").hidden = channel !== "whatsapp";
  $("other-channel").hidden = channel === "whatsapp";
  document.dispatchEvent(new CustomEvent("whatsapp:channel", { detail: channel }));
}

async function loadChannel() {
  const status = $("channel-status");
  try {
    const channel = await call("GET", "/whatsapp/channel");
    state.channelEnabled = channel.enabled;
    status.textContent = channel.enabled ? "" : channel.reason;
    $("tab-whatsapp").disabled = !channel.enabled;
    $("tab-whatsapp").title = channel.enabled ? `Sending from ${channel.sender}` : channel.reason;
    if (channel.enabled) loadTemplates();
  } catch (e) {
    state.channelEnabled = false;
    status.textContent = e.message;
  }
  updateComposer();
}

async function start() {
  for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => showChannel(tab.dataset.channel));
  wireContacts();
  wireConversation();
  wireComposer();
  wireTemplates();
  let token = await loadDemoUsers();
  if (token) {
    // Served only by the local runner while it uses its own Twilio sandbox.
    const sandbox = await import(apiUrl("/local/sandbox.js"));
    sandbox.mount({ state, toast, pollSoon, apiUrl });
  }
  if (!token && config.token === "local-demo") token = tokenFromSignInLink();
  if (!token && config.token === "session") token = sessionStorage.getItem(config.tokenKey || "crm.id_token");
  if (!token) {
    $("channel-status").textContent = "Sign in to the CRM to use WhatsApp.";
    return;
  }
  showChannel("whatsapp");
  switchUser(token);
}

start();
