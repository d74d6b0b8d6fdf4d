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
    const live = $("live-status");
    live.dataset.state = s.live;
    live.textContent = LIVE_TEXT[s.live] || "";
    live.hidden = !LIVE_TEXT[s.live];
    seen.organizations = s.organizations;
  });
}
