// The composer: text, attachments (as chips with upload progress) and Send, usable only when
// the channel, the contact and the window allow (`composing`, shared with the templates view).
// What it holds is the open conversation's draft (actions/drafts.js): typed text goes there,
// and another conversation's draft comes back when it is opened.

import { sendComposition } from "../actions/compose.js";
import { draftTyped } from "../actions/drafts.js";
import { agentTyping } from "../actions/typing.js";
import { addFiles, removeAttachment } from "../actions/uploads.js";
import { $, el, formatSize } from "../dom.js";
import { composerAttachments, composing, subscribe } from "../state.js";

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

function render(s) {
  const { usable, templatesOnly } = composing(s);
  $("message-text").disabled = !usable;
  $("file-input").disabled = !usable;
  $("attach").classList.toggle("disabled", !usable);
  $("send").disabled = !usable || s.sending || composerAttachments(s).some((a) => a.state === "uploading");
  $("composer").hidden = templatesOnly;
}

async function send(event) {
  event.preventDefault();
  await sendComposition($("message-text").value);
}

export function mountComposer() {
  $("composer").addEventListener("submit", send);
  $("message-text").addEventListener("input", (event) => {
    draftTyped(event.target.value);
    if (event.target.value.trim()) agentTyping();
  });
  $("message-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("file-input").addEventListener("change", (event) => {
    addFiles([...event.target.files]);
    event.target.value = "";
  });
  let attachments;
  let contact;
  let shown = 0;
  subscribe((s) => {
    render(s);
    // A conversation just opened: the agent writes next, so the composer takes the focus.
    const opened = s.contact && (!contact || contact.contact_id !== s.contact.contact_id);
    if (opened && !$("message-text").disabled) $("message-text").focus();
    // Another conversation's draft (or an emptied one): the text area shows it.
    if (shown !== s.draftShown) $("message-text").value = s.draftText;
    shown = s.draftShown;
    if (attachments !== s.attachments || contact !== s.contact) renderChips(composerAttachments(s));
    attachments = s.attachments;
    contact = s.contact;
  });
}
