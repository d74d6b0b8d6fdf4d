// The organization's senders' health (`GET /whatsapp/channel`'s `sender_health`, from
// Twilio's Senders API): read once the channel is known, never in its way (the channel's own
// first read skips it), and again every 5 minutes while the tab is seen, since a page stays
// open all day; a hidden tab reads it again when it is shown (an idle tab costs no more than
// its push). A read that fails shows the health as unknown, never an error.

import { call } from "../api.js";
import { config, state, update } from "../state.js";

const REFRESH_MS = () => config.senderHealthRefreshMs || 300000;

let timer = null;

function whenShown() {
  if (!document.hidden) loadSenderHealth();
}

/** Reads the senders' health now, then every few minutes while the tab is seen. */
export async function loadSenderHealth() {
  clearTimeout(timer);
  document.removeEventListener("visibilitychange", whenShown);
  const token = state.token;
  try {
    const channel = await call("GET", "/whatsapp/channel");
    if (token !== state.token) return;
    update({ senderHealth: channel.enabled ? (channel.sender_health ?? null) : undefined });
  } catch {
    if (token !== state.token) return;
    update({ senderHealth: null });
  }
  timer = setTimeout(() => {
    if (document.hidden) document.addEventListener("visibilitychange", whenShown);
    else loadSenderHealth();
  }, REFRESH_MS());
}

/** No channel (signed out, switched user, channel off): no health shown, no more reads. */
export function forgetSenderHealth() {
  clearTimeout(timer);
  document.removeEventListener("visibilitychange", whenShown);
  update({ senderHealth: undefined });
}
