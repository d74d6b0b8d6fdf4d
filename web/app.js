// The Send Message screen, WhatsApp channel: the entry module. Plain ES modules, no build
// step; data flows one way, and imports go one direction:
//   dom.js, api.js, rules.js, live.js   DOM helpers, the HTTP client, WhatsApp's rules, the
//   address.js                          push transport (AppSync Events' protocol), the
//                                       conversation's address (`#/conversations/{id}`)
//   state.js                            the one store: state, update, subscribe
//   actions/*.js                        what changes the store; the only callers of the API
//     session (user, channel, push)  contacts  conversation (pages, polls, push events)
//     inbox (rows, read markers)     compose (send, templates)  uploads  templates
//     drafts (each conversation's composer, kept on the server per agent)
//     failures (what failed where the agent was not looking)  notify (alerts while hidden)
//     emoji (the picker's data set)  presence (who else is in a conversation; telling
//     the others where this agent is)  notes (notes between agents, the composer's mode)
//     canned (the organization's canned responses: `/` in the composer, their dialog)
//   views/*.js                          render from the store, call actions; never import
//     channel  contacts  inbox  conversation  composer  templates    each other
//     notices (failures in conversations not open)  shortcuts (`/`, `?` and their list)
//     alerts (the opt-in chime and desktop notifications)  emoji (the picker)
//     canned (`/` and its list, blanks to fill, the dialog that manages them)
// The local runner adds its sandbox panel (/local/sandbox.js); a deployed page never loads it.

import { openAddressed, pollSoon, schedulePoll } from "./actions/conversation.js";
import { flushDrafts } from "./actions/drafts.js";
import { presenceBack, presenceLeaving } from "./actions/presence.js";
import { scheduleInboxPoll } from "./actions/inbox.js";
import { loadDemoUsers, signInToken, switchUser } from "./actions/session.js";
import { apiUrl } from "./api.js";
import { toast } from "./dom.js";
import { state, update } from "./state.js";
import { mountCanned } from "./views/canned.js";
import { mountChannel, showChannel } from "./views/channel.js";
import { mountComposer } from "./views/composer.js";
import { mountContacts } from "./views/contacts.js";
import { mountInbox } from "./views/inbox.js";
import { mountInteractive } from "./views/interactive.js";
import { mountConversation } from "./views/conversation.js";
import { mountAlerts } from "./views/alerts.js";
import { mountEmoji } from "./views/emoji.js";
import { mountNotices } from "./views/notices.js";
import { mountShortcuts } from "./views/shortcuts.js";
import { mountTemplates } from "./views/templates.js";

async function start() {
  mountChannel();
  mountContacts();
  mountInbox();
  mountConversation();
  mountComposer();
  mountInteractive();
  mountCanned();
  mountTemplates();
  mountNotices();
  mountShortcuts();
  mountAlerts();
  mountEmoji();
  document.addEventListener("visibilitychange", () => {
    schedulePoll();
    scheduleInboxPoll();
    // A hidden tab may never come back (a phone closes it): what was typed is saved now.
    if (document.visibilityState === "hidden") flushDrafts({ keepalive: true });
  });
  window.addEventListener("pagehide", () => {
    flushDrafts({ keepalive: true });
    presenceLeaving();
  });
  // Restored from the back-forward cache: the conversation is on screen again.
  window.addEventListener("pageshow", (event) => event.persisted && presenceBack());
  // Back, Forward, or a link to another conversation's address.
  window.addEventListener("popstate", () => state.token && openAddressed());
  window.addEventListener("hashchange", () => state.token && openAddressed());
  let token = await loadDemoUsers();
  if (token) {
    // Served only by the local runner while it uses its own Twilio sandbox. Mounted before the
    // page starts: the panel follows the open contact from the first one.
    const sandbox = await import(apiUrl("/local/sandbox.js"));
    sandbox.mount({ state, toast, pollSoon, apiUrl });
  }
  if (!token) token = await signInToken();
  if (!token) {
    update({ channelStatus: "Sign in to the CRM to use WhatsApp." });
    return;
  }
  showChannel("whatsapp");
  switchUser(token);
  // A conversation's address (a reload, a link from the CRM) opens it.
  openAddressed();
}

start();
