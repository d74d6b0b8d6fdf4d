// The conversation with the selected contact: the first page, older pages on scrolling up,
// and polling for what is new or changed (replies, status ticks) with the `after` cursor.

import { call } from "./api.js";
import { updateComposer } from "./composer.js";
import { loadContacts, renderContacts } from "./contacts.js";
import { $, el, formatTime, toast } from "./dom.js";
import { SENTENCES } from "./rules.js";
import { config, keepNewest, state } from "./state.js";

const pageLimit = () => (config.messagesPageSize ? `&limit=${config.messagesPageSize}` : "");

// UNCONFIRMED: handed to Twilio, outcome not confirmed — never "failed", and never resent.
const STATUS_LABEL = {
  PENDING: "pending", SENT: "sent ✓", DELIVERED: "delivered ✓✓", READ: "read ✓✓", FAILED: "failed",
  UNCONFIRMED: "being confirmed…", RECEIVED: "",
};

// Statuses shown with their reason.
const STATUS_CLASS = { FAILED: "failed", UNCONFIRMED: "unconfirmed" };

export function selectContact(contact) {
  state.contact = contact;
  state.messages = new Map();
  state.after = null;
  state.before = null;
  state.contactState = null;
  state.windowOpen = true;
  state.templatesOpen = false;
  state.template = null;
  state.templateValues = {};
  state.generation += 1;
  clearTimeout(state.pollTimer);
  renderContacts();
  $("conversation-title").textContent = contact ? contact.name : "Select a contact";
  $("conversation-sub").textContent = contact ? contact.phone_number || "" : "";
  $("window-warning").hidden = true;
  $("contact-notice").hidden = true;
  document.dispatchEvent(new CustomEvent("whatsapp:contact", { detail: contact }));
  $("messages").replaceChildren(el("p", { class: "empty", text: contact ? "Loading…" : "Pick a contact to see the conversation." }));
  updateComposer();
  if (contact) loadConversation();
}

async function loadConversation() {
  const generation = state.generation;
  const contact = state.contact;
  try {
    const page = await call("GET", `/whatsapp/messages?contact_id=${encodeURIComponent(contact.contact_id)}${pageLimit()}`);
    if (generation !== state.generation) return;
    applyPage(page, false);
    state.before = page.next_before;
    render(true);
  } catch (e) {
    if (generation !== state.generation) return;
    if (e.status === 404) return contactGone();
    $("messages").replaceChildren(el("p", { class: "empty", text: e.message }));
  }
  schedulePoll();
}

// The CRM deleted the contact (the API no longer knows it): its conversation is erased on the
// server, so it leaves the screen too; the composer locks and the picker drops the contact.
function contactGone() {
  clearTimeout(state.pollTimer);
  state.messages = new Map();
  state.after = null;
  state.before = null;
  $("messages").replaceChildren();
  showContactState({ eligible: false, ineligible_reason: SENTENCES.contactDeleted }, true);
}

// `live`: the page is news (a poll), so a send that failed since is announced.
function applyPage(page, live) {
  for (const m of page.messages) {
    const before = state.messages.get(m.id);
    if (!keepNewest(m)) continue;
    if (live && m.status === "FAILED" && m.direction === "OUTBOUND" && (!before || before.status !== "FAILED")) {
      toast(m.error_reason || SENTENCES.sendFailed);
    }
  }
  if (page.next_after) state.after = page.next_after;
  if (page.window) showWindow(page.window);
  if (page.contact) showContactState(page.contact, live);
}

// A contact who sent STOP (or was blocked) can no longer be written to: say why, lock the
// composer and drop them from the picker, but keep the conversation on screen.
function showContactState(contactState, live) {
  const wasEligible = !state.contactState || state.contactState.eligible;
  state.contactState = contactState;
  const notice = $("contact-notice");
  notice.hidden = contactState.eligible;
  notice.textContent = contactState.eligible ? "" : contactState.ineligible_reason || "This contact cannot be messaged on WhatsApp.";
  if (live && wasEligible !== contactState.eligible) loadContacts(true);
  updateComposer();
}

function showWindow(conversationWindow) {
  state.windowOpen = conversationWindow.open;
  const warning = $("window-warning");
  warning.hidden = conversationWindow.open;
  updateComposer();
  warning.textContent = conversationWindow.open ? "" : SENTENCES.outsideWindow;
}

export function schedulePoll() {
  clearTimeout(state.pollTimer);
  if (!state.contact) return;
  const base = document.hidden ? config.hiddenPollMs || 15000 : config.pollMs || 3000;
  // A failing poll backs off (up to a minute) and recovers by itself.
  const delay = Math.min(60000, base * 2 ** Math.min(state.pollFailures, 4));
  state.pollTimer = setTimeout(poll, delay);
}

async function poll() {
  const generation = state.generation;
  const contact = state.contact;
  if (!contact || !state.after) return schedulePoll();
  try {
    const page = await call("GET", `/whatsapp/messages?contact_id=${encodeURIComponent(contact.contact_id)}&after=${encodeURIComponent(state.after)}`);
    if (generation !== state.generation) return;
    state.pollFailures = 0;
    // Every poll says how the contact stands (the CRM may have blocked it); news is drawn.
    const atBottom = isAtBottom();
    applyPage(page, true);
    if (page.messages.length) render(atBottom);
  } catch (e) {
    if (generation !== state.generation) return;
    if (e.status === 404) return contactGone();
    state.pollFailures += 1;
  }
  if (generation === state.generation) schedulePoll();
}

export async function loadOlder() {
  if (!state.before || state.loadingOlder || !state.contact) return;
  state.loadingOlder = true;
  const generation = state.generation;
  const box = $("messages");
  const previousHeight = box.scrollHeight;
  try {
    const page = await call("GET", `/whatsapp/messages?contact_id=${encodeURIComponent(state.contact.contact_id)}&before=${state.before}${pageLimit()}`);
    if (generation !== state.generation) return;
    for (const m of page.messages) keepNewest(m);
    state.before = page.next_before;
    render(false);
    box.scrollTop = box.scrollHeight - previousHeight;
  } catch (e) {
    toast(e.message);
  } finally {
    state.loadingOlder = false;
  }
}

function isAtBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
}

// What to call a file the contact sent (WhatsApp media carries no file name).
const TYPE_NAMES = {
  "application/pdf": "PDF file", "application/msword": "Word file", "text/vcard": "contact card",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word file",
  "application/vnd.ms-excel": "Excel file", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel file",
  "application/vnd.ms-powerpoint": "PowerPoint file", "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint file",
};

function renderAttachment(a) {
  const kind = a.content_type.split("/")[0];
  const label = a.filename || TYPE_NAMES[a.content_type] || (kind === "audio" ? "voice note" : kind === "image" ? "photo" : a.content_type);
  if (a.error) return el("p", { class: "status failed", text: `${label}: ${a.error}` });
  if (!a.url) return el("p", { class: "status", text: `${label} (downloading…)` });
  if (a.card) {
    // A shared contact: who it is, their numbers, and the card itself to download.
    return el(
      "div",
      { class: "card" },
      el("strong", { text: `👤 ${a.card.name}` }),
      ...(a.card.phones || []).map((phone) => el("span", { class: "phone", text: phone })),
      el("a", { href: a.url, target: "_blank", rel: "noopener", download: `${a.card.name}.vcf`, text: "Download contact card" }),
    );
  }
  if (a.content_type.startsWith("image/")) return el("a", { href: a.url, target: "_blank", rel: "noopener" }, el("img", { src: a.url, alt: label }));
  if (a.content_type.startsWith("audio/")) return el("audio", { controls: "", src: a.url, "aria-label": label });
  if (a.content_type.startsWith("video/")) return el("video", { controls: "", src: a.url, width: "240", "aria-label": label });
  return el("a", { href: a.url, target: "_blank", rel: "noopener", download: label, text: `Document: ${label}` });
}

// What an inbound message carries besides text and files (WhatsApp's message kinds).
const UNSUPPORTED = "This message type isn't supported here.";

function snippet(m) {
  if (m.text) return m.text.length > 90 ? `${m.text.slice(0, 90)}…` : m.text;
  if (m.attachments.length) return m.attachments[0].filename || m.attachments[0].content_type;
  return "a message";
}

/** The quoted message above a reply: click to go to it. */
function renderQuote(replyTo) {
  const original = replyTo.message_id && state.messages.get(replyTo.message_id);
  if (!original) return el("p", { class: "quote", text: "Reply to an earlier message" });
  return el("button", {
    type: "button",
    class: "quote",
    title: "Go to the quoted message",
    onclick: () => {
      const target = document.querySelector(`article[data-id="${CSS.escape(original.id)}"]`);
      if (!target) return;
      target.scrollIntoView({ block: "center" });
      target.classList.add("highlight");
      setTimeout(() => target.classList.remove("highlight"), 1500);
    },
  }, snippet(original));
}

function renderDetails(d) {
  const parts = [];
  if (d.referral) {
    const r = d.referral;
    parts.push(el(
      "div",
      { class: "referral" },
      el("span", { class: "kind", text: `From ${r.source_type === "post" ? "a post" : "an ad"}` }),
      r.headline ? el("strong", { text: r.headline }) : null,
      r.body ? el("span", { class: "body", text: r.body }) : null,
      el("a", { href: r.source_url, target: "_blank", rel: "noopener noreferrer", text: "View it" }),
    ));
  }
  if (d.location) {
    const { latitude: lat, longitude: lon } = d.location;
    const map = `https://www.openstreetmap.org/?mlat=${encodeURIComponent(lat)}&mlon=${encodeURIComponent(lon)}#map=16/${encodeURIComponent(lat)}/${encodeURIComponent(lon)}`;
    parts.push(el(
      "div",
      { class: "location" },
      el("strong", { text: `📍 ${d.location.label || "Shared location"}` }),
      d.location.address ? el("span", { class: "address", text: d.location.address }) : null,
      el("a", { href: map, target: "_blank", rel: "noopener noreferrer", text: "Open in map" }),
    ));
  }
  if (d.button) parts.push(el("span", { class: "kind", text: "Tapped a button" }));
  if (d.unsupported) parts.push(el("p", { class: "unsupported", text: `${UNSUPPORTED} (${d.unsupported})` }));
  return parts;
}

function renderMessage(m) {
  const outbound = m.direction === "OUTBOUND";
  const who = outbound ? "You" : (state.contact && state.contact.name) || "Contact";
  const status = outbound ? STATUS_LABEL[m.status] || m.status.toLowerCase() : "";
  const node = el(
    "article",
    { class: `message ${outbound ? "outbound" : "inbound"}`, "data-id": m.id, "data-status": m.status },
    el("span", { class: "who", text: who }),
    m.template ? el("span", { class: "template-label", text: `Template: ${m.template.name}` }) : null,
    m.details && m.details.reply_to ? renderQuote(m.details.reply_to) : null,
    ...(m.details ? renderDetails(m.details) : []),
    ...m.attachments.map(renderAttachment),
    m.text ? el("div", { class: "text", text: m.text }) : null,
    el(
      "div",
      { class: "meta" },
      el("span", { class: "when", text: formatTime(m.created_at) }),
      status ? el("span", { class: `status ${STATUS_CLASS[m.status] || ""}`, text: ` · ${status}` }) : null,
    ),
    STATUS_CLASS[m.status] && m.error_reason ? el("div", { class: `status ${STATUS_CLASS[m.status]}`, text: m.error_reason }) : null,
  );
  return node;
}

export function render(scrollToBottom) {
  const box = $("messages");
  const order = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...state.messages.values()].sort(
    (a, b) => order(Date.parse(a.created_at), Date.parse(b.created_at)) || order(a.id, b.id),
  );
  const nodes = sorted.map(renderMessage);
  if (!nodes.length) nodes.push(el("p", { class: "empty", text: "No messages yet." }));
  if (state.before) nodes.unshift(el("button", { class: "link", type: "button", text: "Load older messages", onclick: loadOlder }));
  box.replaceChildren(...nodes);
  if (scrollToBottom) box.scrollTop = box.scrollHeight;
}

/** Polls soon rather than at the next tick (after the sandbox played the contact). */
export function pollSoon() {
  clearTimeout(state.pollTimer);
  state.pollTimer = setTimeout(poll, 300);
}

export function wireConversation() {
  $("messages").addEventListener("scroll", (event) => {
    if (event.target.scrollTop < 30) loadOlder();
  });
  document.addEventListener("visibilitychange", () => schedulePoll());
}
