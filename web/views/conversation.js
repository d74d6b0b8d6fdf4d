// The conversation with the selected contact: its header and notices (window, eligibility),
// the messages in `created_at` order with their kinds, files and ticks, day separators, the
// "N unread messages" divider, grouped bubbles, and older pages on scrolling up. Renders from
// the store; scrolling up asks for older messages; the newest message in view marks the
// conversation read; a "↓ N new messages" pill when something arrives out of view.

import { copyText, retryFailed } from "../actions/compose.js";
import { closeConversation, loadOlder, windowLapsed } from "../actions/conversation.js";
import { showTemplates } from "../actions/templates.js";
import { markSeen } from "../actions/inbox.js";
import { $, clockTime, daysAgo, el, formatTime, Keyed } from "../dom.js";
import { chosenOptions, renderOptions } from "../options.js";
import { SENTENCES } from "../rules.js";
import { isPending, presentAgents, state, subscribe } from "../state.js";

// Outbound ticks as WhatsApp shows them; each with its words for a screen reader.
// UNCONFIRMED: handed to Twilio, outcome not confirmed — never "failed", and never resent.
const TICKS = {
  PENDING: { mark: "🕓", label: "Sending" },
  SENT: { mark: "✓", label: "Sent" },
  DELIVERED: { mark: "✓✓", label: "Delivered" },
  READ: { mark: "✓✓", label: "Read" },
  FAILED: { mark: "!", label: "Failed" },
  UNCONFIRMED: { mark: "being confirmed…", label: "Being confirmed" },
};

// Statuses shown with their reason.
const STATUS_CLASS = { FAILED: "failed", UNCONFIRMED: "unconfirmed" };

// Consecutive messages of one side within this long are one group (one name, tight spacing).
const GROUP_MS = 5 * 60000;

// What to call a file the contact sent (WhatsApp media carries no file name).
const TYPE_NAMES = {
  "application/pdf": "PDF file", "application/msword": "Word file", "text/vcard": "contact card",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word file",
  "application/vnd.ms-excel": "Excel file", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel file",
  "application/vnd.ms-powerpoint": "PowerPoint file", "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint file",
};

// What an inbound message carries besides text and files (WhatsApp's message kinds).
const UNSUPPORTED = "This message type isn't supported here.";

function renderAttachment(a) {
  const kind = a.content_type.split("/")[0];
  const label = a.filename || TYPE_NAMES[a.content_type] || (kind === "audio" ? "voice note" : kind === "image" ? "photo" : a.content_type);
  if (a.error) return el("p", { class: "status failed", text: `${label}: ${a.error}` });
  if (!a.url && (kind === "image" || kind === "video")) {
    // The box the file will fill, so the bubble keeps its size when it arrives.
    return el("p", { class: `status media-placeholder ${kind}`, text: `${label} (downloading…)` });
  }
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

function snippet(m) {
  if (m.text) return m.text.length > 90 ? `${m.text.slice(0, 90)}…` : m.text;
  if (m.attachments.length) return m.attachments[0].filename || m.attachments[0].content_type;
  return "a message";
}

/** The quoted message above a reply: click to go to it. */
function renderQuote(replyTo) {
  const original = quoted({ details: { reply_to: replyTo } });
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
  if (d.button) parts.push(el("span", { class: "kind", text: d.button.kind === "list" ? "Picked from a list" : "Tapped a button" }));
  if (d.unsupported) parts.push(el("p", { class: "unsupported", text: `${UNSUPPORTED} (${d.unsupported})` }));
  return parts;
}

/** The message a reply quotes, when it is on screen (its bubble changes when it arrives). */
function quoted(m) {
  const id = m.details && m.details.reply_to && m.details.reply_to.message_id;
  return (id && state.messages.get(id)) || null;
}

function renderTick(m) {
  const tick = TICKS[m.status] || { mark: m.status.toLowerCase(), label: m.status.toLowerCase() };
  const label = m.status === "FAILED" && m.error_reason ? `${tick.label}: ${m.error_reason}` : tick.label;
  return el("span", {
    class: `status tick tick-${m.status.toLowerCase()} ${STATUS_CLASS[m.status] || ""}`,
    role: "img",
    "aria-label": label,
    title: label,
    text: tick.mark,
  });
}

/**
 * Who sent an outbound message: "You" for the viewer's own, the agent's name for another's,
 * "API" for a send without a user; null for one from before senders were recorded.
 */
function sender(m) {
  if (m.agent === undefined) return null;
  if (m.agent === null) return "API";
  return m.agent.sub === state.agentSub ? "You" : m.agent.name;
}

/** Whether two messages are one side's one voice (grouped under one name). */
function sameVoice(a, b) {
  if (a.direction !== b.direction) return false;
  return a.direction === "INBOUND" || sender(a) === sender(b);
}

/** A note between agents: marked as such, with its author, no ticks; the contact never sees it. */
function renderNote(m, grouped) {
  const author = sender(m) || "An agent";
  return el(
    "article",
    { class: `message note${grouped ? " grouped" : ""}`, "data-id": m.id, "data-status": m.status },
    el("span", { class: grouped ? "who visually-hidden" : "who", text: `Note · ${author}` }),
    el("div", { class: "text", text: m.text || "" }),
    el(
      "div",
      { class: "meta" },
      el("span", { class: "visually-hidden", text: "Only your team sees this note." }),
      el("time", { class: "when", datetime: m.created_at, title: formatTime(m.created_at), text: clockTime(m.created_at) }),
    ),
  );
}

/** A bubble; `chosen`: the option the contact tapped, on a message with buttons or a list. */
function renderMessage(m, grouped, chosen) {
  if (m.direction === "INTERNAL") return renderNote(m, grouped);
  const outbound = m.direction === "OUTBOUND";
  const who = outbound ? sender(m) : (state.contact && state.contact.name) || "Contact";
  return el(
    "article",
    { class: `message ${outbound ? "outbound" : "inbound"}${grouped ? " grouped" : ""}`, "data-id": m.id, "data-status": m.status },
    // An outbound message of unknown sender still says which side it is, to a screen reader.
    el("span", { class: grouped || who === null ? "who visually-hidden" : "who", text: who === null ? "Sent" : who }),
    m.template ? el("span", { class: "template-label", text: `Template: ${m.template.name}` }) : null,
    m.details && m.details.reply_to ? renderQuote(m.details.reply_to) : null,
    ...(m.details ? renderDetails(m.details) : []),
    ...m.attachments.map(renderAttachment),
    m.text ? el("div", { class: "text", text: m.text }) : null,
    m.interactive ? renderOptions(m.interactive, chosen) : null,
    el(
      "div",
      { class: "meta" },
      // The day is its separator's; the bubble says the time, and the whole date on hover.
      el("time", { class: "when", datetime: m.created_at, title: formatTime(m.created_at), text: clockTime(m.created_at) }),
      outbound ? renderTick(m) : null,
    ),
    STATUS_CLASS[m.status] && m.error_reason ? el("div", { class: `status ${STATUS_CLASS[m.status]}`, text: m.error_reason }) : null,
    outbound && m.status === "FAILED" ? renderFailedActions(m) : null,
  );
}

/**
 * What an agent can do with a failed message: send it again (once: the retry's key is the
 * message's), or — refused because the 24-hour window closed (63016) — send a template; and
 * take its text to rework it.
 */
function renderFailedActions(m) {
  const windowClosed = m.error_reason === SENTENCES.outsideWindow;
  let again = null;
  if (windowClosed) again = el("button", { type: "button", class: "link", text: "Send a template", onclick: () => showTemplates(true) });
  else if (state.retried.has(m.id)) again = el("span", { class: "retried", text: "Sent again" });
  else again = el("button", { type: "button", class: "link", text: "Retry", onclick: () => retryFailed(m) });
  return el(
    "div",
    { class: "failed-actions" },
    again,
    m.text ? el("button", { type: "button", class: "link", text: "Copy text", onclick: () => copyText(m.text) }) : null,
  );
}

const order = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function isAtBottom(box) {
  return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
}

/** The message list; keeps the reader's place (older pages above, news below). */
function renderMessages(s, seen) {
  const box = $("messages");
  if (seen.observedGeneration !== s.generation) {
    // Another conversation (or none): nothing of the last one is on screen any more.
    seen.observedGeneration = s.generation;
    seen.observer.disconnect();
    seen.onScreen.clear();
  }
  if (!s.contact) {
    box.replaceChildren(el("p", { class: "empty", text: "Pick a contact to see the conversation." }));
    return;
  }
  if (s.conversationError === null) {
    box.replaceChildren(el("p", { class: "empty", text: "Loading…" }));
    return;
  }
  if (s.conversationError) {
    box.replaceChildren(el("p", { class: "empty", text: s.conversationError }));
    return;
  }
  const sorted = [...s.messages.values()].sort(
    (a, b) => order(Date.parse(a.created_at), Date.parse(b.created_at)) || order(a.id, b.id),
  );
  const atBottom = isAtBottom(box);
  const fromBottom = box.scrollHeight - box.scrollTop;
  const firstBefore = seen.firstId;
  const nodes = layout(sorted, s, seen.nodes);
  if (!nodes.length && !(s.contactState && !s.contactState.eligible && s.contactState.ineligible_reason === SENTENCES.contactDeleted)) {
    nodes.push(el("p", { class: "empty", text: "No messages yet." }));
  }
  if (s.before) nodes.unshift(seen.nodes.reuse("older", [], () => el("button", { class: "link", type: "button", text: "Load older messages", onclick: loadOlder })));
  seen.nodes.place(box, nodes);
  seen.firstId = sorted.length ? sorted[0].id : null;
  const newest = sorted.length ? sorted[sorted.length - 1].id : null;
  // The first time this conversation's messages are drawn ("Loading…" does not count).
  const newContact = seen.drawnGeneration !== s.generation;
  seen.drawnGeneration = s.generation;
  if (newContact) {
    seen.newCount = 0;
    seen.newestId = newest;
  }
  for (const bubble of box.querySelectorAll("article.message")) seen.observer.observe(bubble);
  if (newContact && s.readMarker) {
    // Opened with unread messages: the divider in view, not the bottom.
    const divider = box.querySelector(".unread-divider");
    box.scrollTop = divider ? Math.max(0, divider.offsetTop - box.offsetTop - 40) : box.scrollHeight;
  } else if (newContact || seen.scrollToNewest !== s.scrollToNewest || atBottom) {
    box.scrollTop = box.scrollHeight;
  } else if (firstBefore && seen.firstId !== firstBefore) {
    // Older messages went in above: the same messages stay in view.
    box.scrollTop = box.scrollHeight - fromBottom;
  }
  if (newest && seen.newestId && newest > seen.newestId && !isAtBottom(box)) {
    // Scrolled up and something arrived below: the pill says how much.
    seen.newCount += sorted.filter((m) => m.id > seen.newestId).length;
  }
  seen.newestId = newest;
  settle(box, seen);
}

/**
 * At the bottom: nothing new is out of sight (the pill goes) and the view stays pinned there.
 * Read is what was on screen: the newest stored message at least half in view (or filling
 * half the view) while the page is visible marks the conversation read up to it.
 */
function settle(box, seen) {
  const bottom = isAtBottom(box);
  seen.pinned = bottom;
  if (bottom) seen.newCount = 0;
  const pill = $("new-messages");
  pill.hidden = seen.newCount === 0;
  pill.textContent = `↓ ${seen.newCount} new message${seen.newCount === 1 ? "" : "s"}`;
  const newestOnScreen = [...seen.onScreen].filter((id) => !isPending(id)).sort().pop();
  if (newestOnScreen && document.visibilityState === "visible") markSeen(newestOnScreen);
}

/** Which bubbles are on screen, as the browser lays them out (IntersectionObserver). */
function watchOnScreen(box, seen) {
  seen.onScreen = new Set();
  seen.observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const id = entry.target.dataset.id;
      const half = entry.intersectionRatio >= 0.5
        || (entry.rootBounds && entry.intersectionRect.height >= entry.rootBounds.height / 2);
      if (entry.isIntersecting && half && entry.target.isConnected) seen.onScreen.add(id);
      else seen.onScreen.delete(id);
    }
    settle(box, seen);
  }, { root: box, threshold: [0, 0.5, 1] });
}

/** A file that loads, or the pane that resizes (a phone's keyboard), keeps a pinned view at the bottom. */
function keepPinned(box, seen) {
  const pin = () => {
    if (seen.pinned) box.scrollTop = box.scrollHeight;
  };
  box.addEventListener("load", pin, true);
  box.addEventListener("loadedmetadata", pin, true);
  new ResizeObserver(pin).observe(box);
}

function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

function dayLabel(iso) {
  const days = daysAgo(iso);
  if (days <= 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days < 7) return new Date(iso).toLocaleDateString(undefined, { weekday: "long" });
  return new Date(iso).toLocaleDateString(undefined, { dateStyle: "medium" });
}

/**
 * The bubbles in order, with a separator at each new day, the "N unread messages" divider
 * where the conversation was read up to when opened, and consecutive bubbles of one side
 * grouped. Nodes are kept while what they show is the same.
 */
function layout(sorted, s, nodes) {
  const items = [];
  const today = dayKey(new Date().toISOString());
  const name = s.contact && s.contact.name;
  const marker = s.readMarker;
  let day = null;
  let previous = null;
  let divided = false;
  const chosen = chosenOptions(sorted);
  for (const m of sorted) {
    const key = dayKey(m.created_at);
    if (key !== day) {
      day = key;
      previous = null;
      items.push(nodes.reuse(`d:${key}`, [today], () => el("p", { class: "day", role: "separator", text: dayLabel(m.created_at) })));
    }
    if (marker && !divided && m.direction === "INBOUND" && (!marker.after || m.id > marker.after)) {
      divided = true;
      previous = null;
      const text = `${marker.count} unread message${marker.count === 1 ? "" : "s"}`;
      items.push(nodes.reuse("unread", [marker], () => el("p", { class: "unread-divider", role: "separator", text })));
    }
    const grouped = !!previous && sameVoice(previous, m)
      && Date.parse(m.created_at) - Date.parse(previous.created_at) < GROUP_MS;
    const choice = chosen.get(m.id);
    items.push(nodes.reuse(`m:${m.id}`, [m, name, quoted(m), grouped, s.agentSub, s.retried.has(m.id), choice], () => renderMessage(m, grouped, choice)));
    previous = m;
  }
  return items;
}

/** "3 h 12 min", "42 min", "less than a minute": how long until `iso`. */
function timeLeft(ms) {
  const minutes = Math.floor(ms / 60000);
  if (minutes < 1) return "less than a minute";
  const hours = Math.floor(minutes / 60);
  return hours ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

let countdownTimer = null;

/**
 * How long the 24-hour window stays open; the last hour stands out. It moves on by itself,
 * and closes the window the moment it ends.
 */
function renderCountdown(s) {
  clearTimeout(countdownTimer);
  const node = $("window-countdown");
  const left = s.contact && s.windowOpen && s.windowClosesAt ? Date.parse(s.windowClosesAt) - Date.now() : NaN;
  node.hidden = !(left > 0);
  if (node.hidden) {
    if (left <= 0) windowLapsed();
    return;
  }
  countdownTimer = setTimeout(() => renderCountdown(state), Math.min(20000, left + 50));
  node.textContent = `WhatsApp window closes in ${timeLeft(left)}`;
  node.title = `Free-form messages can be sent until ${new Date(s.windowClosesAt).toLocaleString()}; after that, only templates.`;
  node.classList.toggle("soon", left < 3600000);
}

/** "Ana Lima is viewing", "Ben Ong is writing…": the other agents in the conversation. */
function renderPresence(s) {
  const node = $("conversation-presence");
  const here = s.contact ? presentAgents(s, s.contact.contact_id) : [];
  node.hidden = here.length === 0;
  node.textContent = here.map((p) => `${p.agent.name} ${p.state === "composing" ? "is writing…" : "is viewing"}`).join(" · ");
  node.dataset.composing = String(here.some((p) => p.state === "composing"));
}

function renderHead(s) {
  $("conversation-title").textContent = s.contact ? s.contact.name : "Select a contact";
  $("conversation-sub").textContent = s.contact ? s.contact.phone_number || "" : "";
  const contactState = s.contactState;
  const notice = $("contact-notice");
  const ineligible = !!contactState && !contactState.eligible;
  notice.hidden = !ineligible;
  notice.textContent = ineligible ? contactState.ineligible_reason || "This contact cannot be messaged on WhatsApp." : "";
  const warning = $("window-warning");
  const closed = !!s.contact && s.windowOpen === false;
  warning.hidden = !closed;
  warning.textContent = closed ? SENTENCES.outsideWindow : "";
}

export function mountConversation() {
  const seen = { messages: undefined, contact: undefined, contactState: undefined, windowOpen: undefined, before: undefined, conversationError: undefined, generation: undefined, scrollToNewest: 0, firstId: null, nodes: new Keyed(), newCount: 0, newestId: null, pinned: true, drawnGeneration: undefined, observedGeneration: undefined, inbox: undefined };
  watchOnScreen($("messages"), seen);
  keepPinned($("messages"), seen);
  $("back-to-list").addEventListener("click", closeConversation);
  $("messages").addEventListener("scroll", (event) => {
    if (event.target.scrollTop < 30) loadOlder();
    settle(event.target, seen);
  });
  $("new-messages").addEventListener("click", () => {
    const box = $("messages");
    box.scrollTop = box.scrollHeight;
    settle(box, seen);
  });
  document.addEventListener("visibilitychange", () => settle($("messages"), seen));

  subscribe((s) => {
    if (seen.contact !== s.contact) {
      document.dispatchEvent(new CustomEvent("whatsapp:contact", { detail: s.contact }));
      // A phone shows the conversation instead of the list while one is open.
      $("whatsapp").dataset.open = String(!!s.contact);
    }
    if (seen.contact !== s.contact || seen.contactState !== s.contactState || seen.windowOpen !== s.windowOpen) renderHead(s);
    if (seen.contact !== s.contact || seen.presence !== s.presence) renderPresence(s);
    if (seen.contact !== s.contact || seen.windowOpen !== s.windowOpen || seen.windowClosesAt !== s.windowClosesAt) renderCountdown(s);
    if (seen.messages !== s.messages || seen.contact !== s.contact || seen.before !== s.before
        || seen.conversationError !== s.conversationError || seen.scrollToNewest !== s.scrollToNewest) {
      renderMessages(s, seen);
    } else if (seen.inbox !== s.inbox && s.contact) {
      // The row says something is unread (a reply pushed before its row): read if in view.
      settle($("messages"), seen);
    }
    Object.assign(seen, {
      messages: s.messages, contact: s.contact, contactState: s.contactState, windowOpen: s.windowOpen, windowClosesAt: s.windowClosesAt,
      before: s.before, conversationError: s.conversationError, generation: s.generation, scrollToNewest: s.scrollToNewest,
      inbox: s.inbox, presence: s.presence,
    });
  });
}
