// Attachments being prepared: checked against WhatsApp's rules, uploaded straight to storage
// through a presigned PUT (with progress), kept with their conversation's draft until sent or
// removed.

import { call } from "../api.js";
import { toast } from "../dom.js";
import { checkFile } from "../rules.js";
import { state, update } from "../state.js";
import { draftChanged } from "./drafts.js";

const changed = () => update({ attachments: [...state.attachments] });

export function removeAttachment(entry) {
  if (entry.xhr) entry.xhr.abort();
  update({ attachments: state.attachments.filter((a) => a !== entry) });
  draftChanged(entry.contactId);
}

export function addFiles(files) {
  if (!state.contact) return;
  const contactId = state.contact.contact_id;
  for (const file of files) {
    const check = checkFile(file);
    if (check.error) {
      toast(`${file.name}: ${check.error}`);
      continue;
    }
    const entry = { contactId, file, name: file.name, size: file.size, type: check.type, state: "uploading", progress: 0 };
    update({ attachments: [...state.attachments, entry] });
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
          changed();
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
  if (!state.attachments.includes(entry)) return;
  changed();
  if (entry.state === "ready") draftChanged(entry.contactId);
}
