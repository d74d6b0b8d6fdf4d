// Notes: what an agent writes for the other agents in the conversation. Never sent to the
// contact; shown to every agent of the organization (pushed like a message).

import { call } from "../api.js";
import { toast } from "../dom.js";
import { state, update } from "../state.js";
import { accepted } from "./conversation.js";
import { draftKind, draftTyped, flushDrafts } from "./drafts.js";
import { presenceIdle } from "./presence.js";

let adding = false;

/** Records a note in the open conversation; resolves true once stored. */
export async function addNote(text) {
  if (!state.contact || adding || !text.trim()) return false;
  adding = true;
  update({ sending: true });
  try {
    const answer = await call("POST", "/whatsapp/notes", { contact_id: state.contact.contact_id, text });
    accepted([answer.message]);
    draftTyped("");
    update((s) => {
      s.draftShown += 1;
    });
    flushDrafts();
    presenceIdle();
    return true;
  } catch (e) {
    toast(e.message);
    return false;
  } finally {
    adding = false;
    update({ sending: false });
  }
}

/** The composer writes a message to the contact, or a note for the agents (kept with the draft). */
export function setComposeMode(mode) {
  if (mode !== "message" && mode !== "note") return;
  draftKind(mode);
}
