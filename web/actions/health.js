// The organization's senders' health (`GET /whatsapp/channel`'s `sender_health`, from
// Twilio's Senders API): read once the channel is known, never in its way (the channel's own
// first read skips it), and again every 5 minutes, since a page stays open all day. A read
// that fails shows the health as unknown, never an error.

import { call } from "../api.js";
import { config, state, update } from "../state.js";

const REFRESH_MS = () => config.senderHealthRefreshMs || 300000;

let timer = null;

/** Reads the senders' health now, then every few minutes. */
export async function loadSenderHealth() {
  clearTimeout(timer);
  const token = state.token;
  try {
    const channel = await call("GET", "/whatsapp/channel");
    if (token !== state.token) return;
    update({ senderHealth: channel.enabled ? (channel.sender_health ?? null) : undefined });
  } catch {
    if (token !== state.token) return;
    update({ senderHealth: null });
  }
  timer = setTimeout(loadSenderHealth, REFRESH_MS());
}

/** No channel (signed out, switched user, channel off): no health shown, no more reads. */
export function forgetSenderHealth() {
  clearTimeout(timer);
  update({ senderHealth: undefined });
}
