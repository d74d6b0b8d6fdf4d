// The agent is typing a reply: WhatsApp shows "typing…" to the contact (and marks their
// messages read). At most one request per conversation every 20 s — the indicator lasts 25 s
// — and only in a conversation the contact wrote in; the server keeps the same pace for the
// whole organization and says "off" where read receipts are turned off. Nothing of it is
// ever shown to the agent: a failure costs only the indicator.

import { call } from "../api.js";
import { config, isPending, state } from "../state.js";

const EVERY_MS = () => config.typingEveryMs || 20000;

// When each conversation was last told.
const told = new Map();

export function agentTyping() {
  const contact = state.contact;
  if (!contact || !state.token) return;
  const wrote = [...state.messages.values()].some((m) => m.direction === "INBOUND" && !isPending(m.id));
  if (!wrote) return;
  const now = Date.now();
  if (now - (told.get(contact.contact_id) || 0) < EVERY_MS()) return;
  told.set(contact.contact_id, now);
  call("POST", `/whatsapp/conversations/${encodeURIComponent(contact.contact_id)}/typing`).catch(() => {});
}
