// The composer: text, attachments (as chips with upload progress) and Send, usable only when
// the channel, the contact and the window allow (`composing`, shared with the templates view).

import { sendComposition } from "../actions/compose.js";
import { agentTyping } from "../actions/typing.js";
import { addFiles, removeAttachment } from "../actions/uploads.js";
import { $, el, formatSize } from "../dom.js";
import { composing, subscribe } from "../state.js";

function renderChips(attachments) {
  $("chips").replaceChildren(
    ...attachments.map((a) =>
      el(
        "li",
        { class: `chip ${a.state === "error" ? "error" : ""}` },
        el("span", { text: `${a.file.name} (${formatSize(a.file.size)})` }),
        a.state === "uploading" ? el("progress", { max: "100", value: String(a.progress), "aria-label": `Uploading ${a.file.name}` }) : null,
        a.state === "error" ? el("span", { text: a.error }) : null,
        el("button", { type: "button", "aria-label": `Remove ${a.file.name}`, text: "×", onclick: () => removeAttachment(a) }),
      ),
    ),
  );
}

function render(s) {
  const { usable, templatesOnly } = composing(s);
  $("message-text").disabled = !usable;
  $("file-input").disabled = !usable;
  $("attach").classList.toggle("disabled", !usable);
  $("send").disabled = !usable || s.sending || s.attachments.some((a) => a.state === "uploading");
  $("composer").hidden = templatesOnly;
}

async function send(event) {
  event.preventDefault();
  if (await sendComposition($("message-text").value)) $("message-text").value = "";
}

export function mountComposer() {
  $("composer").addEventListener("submit", send);
  $("message-text").addEventListener("input", (event) => {
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
  subscribe((s) => {
    render(s);
    if (attachments !== s.attachments) renderChips(s.attachments);
    attachments = s.attachments;
  });
}
