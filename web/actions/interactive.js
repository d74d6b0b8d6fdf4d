// Buttons and a list the contact answers with a tap (inside the 24-hour window): built in
// the composer's builder, one per conversation (`state.interactive`), and sent as the
// send's `interactive` under one Idempotency-Key, with `seen_up_to` like every send.

import { call } from "../api.js";
import { toast } from "../dom.js";
import { INTERACTIVE_LIMITS, interactivePayload, interactiveProblem } from "../rules.js";
import { builderOf, composeKey, PENDING_ID_PREFIX, state, update } from "../state.js";
import { draftTyped } from "./drafts.js";
import { collided, guarded, interactiveSent } from "./compose.js";
import { accepted, showPending, withdraw } from "./conversation.js";

const blankItem = () => ({ title: "", description: "" });

const openBuilder = () => builderOf(state);

function change(draft) {
  if (!state.contact) return;
  const id = state.contact.contact_id;
  update((s) => {
    s.interactive = new Map(s.interactive);
    if (draft) s.interactive.set(id, draft);
    else s.interactive.delete(id);
  });
}

/**
 * Opens the builder for the open conversation (as it was left, if it was), its message the
 * composer's text when it has none; `preset` (a canned response's buttons) replaces it.
 */
export function buildInteractive(preset = null) {
  if (!state.contact) return;
  const kept = openBuilder();
  if (kept && !preset) return;
  // The composer's text becomes the message the options go under (and goes back on Cancel).
  const body = preset ? preset.body : state.draftText;
  if (!preset && body) {
    draftTyped("");
    update((s) => {
      s.draftShown += 1;
    });
  }
  change({
    type: "buttons",
    body,
    buttons: preset ? preset.buttons.map((b) => ({ title: b.title })) : [{ title: "" }, { title: "" }],
    button: "",
    items: [blankItem(), blankItem()],
  });
}

/** Cancel: the builder goes; its message goes back to an empty composer, so nothing typed is lost. */
export function closeBuilder() {
  const draft = openBuilder();
  change(null);
  if (draft && draft.body.trim() && !state.draftText.trim()) {
    draftTyped(draft.body);
    update((s) => {
      s.draftShown += 1;
    });
  }
}

/** Changes the builder's kind, message or list button: `{type}`, `{body}`, `{button}`. */
export function editBuilder(fields) {
  const draft = openBuilder();
  if (draft) change({ ...draft, ...fields });
}

/** Changes one option: `kind` "buttons" or "items", its place, its fields. */
export function editOption(kind, index, fields) {
  const draft = openBuilder();
  if (!draft || !draft[kind][index]) return;
  const options = draft[kind].map((o, i) => (i === index ? { ...o, ...fields } : o));
  change({ ...draft, [kind]: options });
}

export function addOption(kind) {
  const draft = openBuilder();
  const max = kind === "buttons" ? INTERACTIVE_LIMITS.buttons : INTERACTIVE_LIMITS.items;
  if (!draft || draft[kind].length >= max) return;
  change({ ...draft, [kind]: [...draft[kind], kind === "buttons" ? { title: "" } : blankItem()] });
}

export function removeOption(kind, index) {
  const draft = openBuilder();
  if (!draft || draft[kind].length <= 1) return;
  change({ ...draft, [kind]: draft[kind].filter((_, i) => i !== index) });
}

/** Sends the builder's buttons or list; resolves true once the server took them. */
export async function sendInteractive() {
  const draft = openBuilder();
  if (!draft || state.interactiveSending) return false;
  const problem = interactiveProblem(draft);
  if (problem) {
    toast(problem);
    return false;
  }
  const interactive = interactivePayload(draft);
  const body = { contact_id: state.contact.contact_id, interactive };
  const pendingId = `${PENDING_ID_PREFIX}${Date.now()}`;
  showPending({
    id: pendingId, direction: "OUTBOUND", message_type: "INTERACTIVE", text: interactive.body, interactive,
    attachments: [], status: "PENDING", created_at: new Date().toISOString(),
    agent: state.agentSub ? { sub: state.agentSub, name: "You" } : undefined,
  });
  update({ interactiveSending: true, collision: null });
  const key = composeKey(body);
  try {
    const answer = await call("POST", "/whatsapp/messages", guarded(body), { "Idempotency-Key": key });
    withdraw(pendingId);
    interactiveSent(answer, body);
    return true;
  } catch (e) {
    withdraw(pendingId);
    if (!collided(e, "interactive", body, key)) toast(e.message);
    return false;
  } finally {
    update({ interactiveSending: false });
  }
}
