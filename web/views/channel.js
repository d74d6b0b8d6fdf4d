// The channel tabs, the channel's status line, the live indicator and the demo-user switch
// (local runner only).

import { switchUser } from "../actions/session.js";
import { $, el } from "../dom.js";
import { subscribe } from "../state.js";

// How current the conversation is, in words (data-state carries the machine's word).
const LIVE_TEXT = {
  up: "● Live",
  connecting: "Connecting…",
  down: "Reconnecting… (checking for news every few seconds)",
  refused: "Live updates unavailable: checking for news every few seconds",
  off: "",
};

// A sender's state in a few words, by Twilio's status (`level` says how it looks).
const STATUS_WORDS = {
  "ONLINE:UPDATING": "updating",
  TWILIO_REVIEW: "in review at Twilio",
  CREATING: "being set up",
  PENDING_VERIFICATION: "waiting for verification",
  VERIFYING: "being verified",
  DRAFT: "not submitted yet",
  STUBBED: "not set up yet",
};
const LEVEL_ORDER = { green: 0, amber: 1, red: 2 };
const LEVEL_MARK = { green: "●", amber: "▲", red: "■" };

function senderWords(h) {
  if (h.level === "red") {
    const reason = (h.offline_reasons || []).map((r) => r.message || r.code).find(Boolean);
    return `offline${reason ? `: ${reason}` : ""}`;
  }
  if (h.status === "ONLINE") {
    return h.level === "green" ? "OK" : `quality ${h.quality_rating}, Meta may lower its limit`;
  }
  return STATUS_WORDS[h.status] || `status ${h.status}`;
}

/** The header chip for the senders' health: the worst sender's state, every sender in the title. */
export function healthChip(health) {
  if (health === null) return { level: "unknown", text: "Sender status unknown (Twilio could not be read)", title: "" };
  if (!Array.isArray(health) || health.length === 0) return null;
  const worst = health.reduce((a, b) => (LEVEL_ORDER[b.level] > LEVEL_ORDER[a.level] ? b : a));
  const who = health.length > 1 ? `Sender ${worst.sender}` : "WhatsApp sender";
  const title = health
    .map((h) => [h.sender, h.status, h.quality_rating && `quality ${h.quality_rating}`, h.messaging_limit].filter(Boolean).join(" · "))
    .join("\n");
  return { level: worst.level, text: `${LEVEL_MARK[worst.level] || ""} ${who}: ${senderWords(worst)}`, title };
}

export function showChannel(channel) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.channel === channel));
  }
  $("whatsapp").hidden = channel !== "whatsapp";
  $("other-channel").hidden = channel === "whatsapp";
  document.dispatchEvent(new CustomEvent("whatsapp:channel", { detail: channel }));
}

export function mountChannel() {
  for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => showChannel(tab.dataset.channel));
  const select = $("demo-user");
  select.addEventListener("change", () => switchUser(select.value));
  const seen = {};
  subscribe((s) => {
    if (seen.organizations !== s.organizations) {
      // Every demo agent of every organization (the first of each is its usual user).
      select.replaceChildren(...s.organizations.flatMap((o) => (o.agents && o.agents.length ? o.agents : [{ ...o.user, token: o.token }])
        .map((a) => el("option", { value: a.token, text: `${a.name || a.email} <${a.email}> — ${o.name}` }))));
      $("demo-users").hidden = s.organizations.length === 0;
    }
    if (s.token && select.value !== s.token && [...select.options].some((o) => o.value === s.token)) select.value = s.token;
    $("channel-status").textContent = s.channelStatus;
    const tab = $("tab-whatsapp");
    tab.disabled = !!s.token && !s.channelEnabled && !!s.channelStatus;
    tab.title = s.channelEnabled ? `Sending from ${s.sender}` : s.channelStatus;
    if (seen.senderHealth !== s.senderHealth) {
      const chip = healthChip(s.senderHealth);
      const health = $("sender-health");
      health.hidden = !chip;
      health.dataset.level = chip ? chip.level : "";
      health.textContent = chip ? chip.text : "";
      health.title = chip ? chip.title : "";
      seen.senderHealth = s.senderHealth;
    }
    const live = $("live-status");
    live.dataset.state = s.live;
    live.textContent = LIVE_TEXT[s.live] || "";
    live.hidden = !LIVE_TEXT[s.live];
    seen.organizations = s.organizations;
  });
}
