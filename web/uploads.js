// Attachments being prepared: checked against WhatsApp's rules, uploaded straight to storage
// through a presigned PUT (with progress), shown as chips until sent or removed.

import { call } from "./api.js";
import { updateComposer } from "./composer.js";
import { $, el, formatSize, toast } from "./dom.js";
import { checkFile } from "./rules.js";
import { state } from "./state.js";

export function renderChips() {
  $("chips").replaceChildren(
    ...state.attachments.map((a) =>
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
  updateComposer();
}

function removeAttachment(a) {
  if (a.xhr) a.xhr.abort();
  state.attachments = state.attachments.filter((x) => x !== a);
  renderChips();
}

export async function addFiles(files) {
  for (const file of files) {
    const check = checkFile(file);
    if (check.error) {
      toast(`${file.name}: ${check.error}`);
      continue;
    }
    const entry = { file, type: check.type, state: "uploading", progress: 0 };
    state.attachments.push(entry);
    renderChips();
    upload(entry);
  }
}

async function upload(entry) {
  try {
    const presigned = await call("POST", "/whatsapp/attachments", { filename: entry.file.name, content_type: entry.type, size: entry.file.size });
    await new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      entry.xhr = xhr;
      xhr.open(presigned.upload.method, presigned.upload.url);
      for (const [k, v] of Object.entries(presigned.upload.headers)) {
        if (k.toLowerCase() !== "content-length") xhr.setRequestHeader(k, v);
      }
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) {
          entry.progress = Math.round((e.loaded / e.total) * 100);
          renderChips();
        }
      };
      xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error("The upload was refused.")));
      xhr.onerror = () => reject(new Error("The upload failed."));
      xhr.onabort = () => reject(new Error("Upload cancelled."));
      xhr.send(entry.file);
    });
    entry.attachment = presigned.attachment;
    entry.state = "ready";
  } catch (e) {
    entry.state = "error";
    entry.error = e.message;
  }
  renderChips();
}
