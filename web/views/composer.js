// The composer: text, attachments (as chips with upload progress) and Send, usable only when
// the channel, the contact and the window allow (`composing`, shared with the templates view).
// What it holds is the open conversation's draft (actions/drafts.js): typed text goes there,
// and another conversation's draft comes back when it is opened.

import { cannedTyped } from "../actions/canned.js";
import { editAfterCollision, sendAnyway, sendComposition } from "../actions/compose.js";
import { draftTyped } from "../actions/drafts.js";
import { addNote, setComposeMode } from "../actions/notes.js";
import { presenceTyping } from "../actions/presence.js";
import { agentTyping } from "../actions/typing.js";
import { addFiles, removeAttachment } from "../actions/uploads.js";
import { $, el, formatSize } from "../dom.js";
import { TEXT_LIMITS, takesCaption } from "../rules.js";
import { builderOf, composerAttachments, composing, state, subscribe } from "../state.js";

const EXPIRED = "Upload expired: attach the file again";

function renderChips(attachments) {
  $("chips").replaceChildren(
    ...attachments.map((a) =>
      el(
        "li",
        { class: `chip ${a.state === "error" || a.state === "expired" ? "error" : ""}` },
        el("span", { text: `${a.name} (${formatSize(a.size)})` }),
        a.state === "uploading" ? el("progress", { max: "100", value: String(a.progress), "aria-label": `Uploading ${a.name}` }) : null,
        a.state === "error" ? el("span", { text: a.error }) : null,
        a.state === "expired" ? el("span", { class: "expired", text: EXPIRED }) : null,
        el("button", { type: "button", "aria-label": `Remove ${a.name}`, text: "×", onclick: () => removeAttachment(a) }),
      ),
    ),
  );
}

const number = (n) => n.toLocaleString("en-US");

/**
 * The text's length as the server counts it, against Twilio's 1,600; with a photo or video
 * attached, past 1,024 it goes as a message of its own rather than as the caption. Returns
 * whether the text can be sent.
 */
function renderCount(text, attachments) {
  const count = [...text].length;
  const node = $("char-count");
  const over = count > TEXT_LIMITS.text;
  node.hidden = count === 0;
  node.classList.toggle("over", over);
  const captioned = attachments.some((a) => a.state !== "error" && takesCaption(a.type));
  let note = "";
  if (over) note = ` — ${number(count - TEXT_LIMITS.text)} too many: shorten it to send`;
  else if (captioned && count > TEXT_LIMITS.caption) note = ` — over ${number(TEXT_LIMITS.caption)}: sent as a message of its own, not as the caption`;
  node.textContent = `${number(count)} / ${number(TEXT_LIMITS.text)}${note}`;
  $("message-text").setAttribute("aria-invalid", String(over));
  return !over;
}

const PLACEHOLDER = {
  message: "Type a message — Enter sends, Shift+Enter adds a line",
  note: "Note for your team — the contact never sees it. Enter adds it",
};

/** The composer writes a message, or (clearly coloured) a note the contact never sees. */
function renderMode(s, note) {
  $("compose-mode").hidden = !s.contact;
  $("mode-message").setAttribute("aria-pressed", String(!note));
  $("mode-note").setAttribute("aria-pressed", String(note));
  const form = $("composer");
  form.classList.toggle("note-mode", note);
  form.setAttribute("aria-label", note ? "Write a note for your team" : "Write a WhatsApp message");
  $("message-text").placeholder = PLACEHOLDER[note ? "note" : "message"];
  $("message-label").textContent = note ? "Note" : "Message";
  $("send").textContent = note ? "Add note" : "Send";
}

/** Who wrote what the agent had not seen: "Ben wrote again", "Ana replied meanwhile". */
function collisionText(s) {
  const said = new Set();
  for (const m of s.collision.news) {
    if (m.direction === "INBOUND") said.add(`${(s.contact && s.contact.name) || "The contact"} wrote again`);
    else if (m.agent) said.add(`${m.agent.name} replied meanwhile`);
    else said.add("A message was sent through the API meanwhile");
  }
  const what = [...said].join(" · ") || "The conversation changed";
  return `${what}. Read it, then send anyway or edit your message.`;
}

function renderCollision(s) {
  const box = $("collision");
  const shown = !!s.collision && !!s.contact && s.collision.body.contact_id === s.contact.contact_id;
  box.hidden = !shown;
  if (!shown) return;
  $("collision-text").textContent = collisionText(s);
  $("collision-send").disabled = s.sending;
}

function render(s) {
  const { usable, templatesOnly, note } = composing(s);
  const attachments = note ? [] : composerAttachments(s);
  const fits = renderCount($("message-text").value, attachments);
  renderMode(s, note);
  renderCollision(s);
  $("message-text").disabled = !usable;
  $("file-input").disabled = !usable || note;
  $("attach").classList.toggle("disabled", !usable || note);
  $("attach").hidden = note;
  $("file-input").hidden = note;
  $("chips").hidden = note;
  $("send").disabled = !usable || !fits || s.sending || attachments.some((a) => a.state === "uploading");
  // Buttons or a list being built take the composer's place (never sent with text).
  $("composer").hidden = templatesOnly || (!note && !!builderOf(s));
}

/** Files pasted or dropped into the composer are attached as if chosen with Attach. */
function takeFiles(event, files) {
  if (!files.length || !composing(state).usable) return;
  event.preventDefault();
  addFiles(files);
}

async function send(event) {
  event.preventDefault();
  const text = $("message-text").value;
  if (composing(state).note) await addNote(text);
  else await sendComposition(text);
}

export function mountComposer() {
  $("composer").addEventListener("submit", send);
  $("mode-message").addEventListener("click", () => setComposeMode("message"));
  $("mode-note").addEventListener("click", () => setComposeMode("note"));
  $("collision-send").addEventListener("click", () => sendAnyway());
  $("collision-edit").addEventListener("click", () => {
    editAfterCollision();
    $("message-text").focus();
  });
  $("message-text").addEventListener("input", (event) => {
    draftTyped(event.target.value);
    // `/` at the start: the canned responses (views/canned.js shows them).
    cannedTyped(event.target.value);
    if (!event.target.value.trim()) return;
    // The other agents see who is writing; the contact sees "typing…" for a message only.
    presenceTyping();
    if (!composing(state).note) agentTyping();
  });
  $("message-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("message-text").addEventListener("paste", (event) => {
    // A copied file (a screenshot) is attached; copied text is pasted as text.
    const data = event.clipboardData;
    if (data && !data.getData("text/plain")) takeFiles(event, [...data.files]);
  });
  const form = $("composer");
  form.addEventListener("dragover", (event) => {
    if (![...event.dataTransfer.types].includes("Files") || !composing(state).usable) return;
    event.preventDefault();
    form.classList.add("dropping");
  });
  form.addEventListener("dragleave", () => form.classList.remove("dropping"));
  form.addEventListener("drop", (event) => {
    form.classList.remove("dropping");
    takeFiles(event, [...event.dataTransfer.files]);
  });
  $("file-input").addEventListener("change", (event) => {
    addFiles([...event.target.files]);
    event.target.value = "";
  });
  let attachments;
  let contact;
  let shown = 0;
  let mode;
  let collision;
  subscribe((s) => {
    // A refusal to send shown: "Send anyway" is what the keyboard reaches first.
    if (s.collision && s.collision !== collision) queueMicrotask(() => !$("collision").hidden && $("collision-send").focus());
    collision = s.collision;
    // Switched between a message and a note: the agent writes next.
    if (mode !== undefined && mode !== s.composeMode && s.contact && !$("message-text").disabled) queueMicrotask(() => $("message-text").focus());
    mode = s.composeMode;
    // Another conversation's draft (or an emptied one): the text area shows it.
    if (shown !== s.draftShown) $("message-text").value = s.draftText;
    shown = s.draftShown;
    render(s);
    // A conversation just opened: the agent writes next, so the composer takes the focus.
    const opened = s.contact && (!contact || contact.contact_id !== s.contact.contact_id);
    if (opened && !$("message-text").disabled) $("message-text").focus();
    if (attachments !== s.attachments || contact !== s.contact) renderChips(composerAttachments(s));
    attachments = s.attachments;
    contact = s.contact;
  });
}
