// WhatsApp's media rules as the server has them (shared::domain::media; a test in
// local/tests/runner/web.rs holds the two equal). Checked here to refuse a file before it is
// uploaded; the server checks again, bytes included.

import { MB } from "./dom.js";

export const MEDIA_RULES = {
  "image/jpeg": { ext: ["jpg", "jpeg"], max: 5 * MB },
  "image/png": { ext: ["png"], max: 5 * MB },
  "audio/ogg": { ext: ["ogg", "opus", "oga"], max: 16 * MB },
  "audio/amr": { ext: ["amr"], max: 16 * MB },
  "audio/3gpp": { ext: ["3gp", "3gpp"], max: 16 * MB },
  "audio/aac": { ext: ["aac"], max: 16 * MB },
  "audio/mpeg": { ext: ["mp3", "mpga"], max: 16 * MB },
  "video/mp4": { ext: ["mp4"], max: 16 * MB },
  "application/pdf": { ext: ["pdf"], max: 16 * MB },
  "application/msword": { ext: ["doc"], max: 16 * MB },
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": { ext: ["docx"], max: 16 * MB },
  "application/vnd.ms-excel": { ext: ["xls"], max: 16 * MB },
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { ext: ["xlsx"], max: 16 * MB },
  "application/vnd.ms-powerpoint": { ext: ["ppt"], max: 16 * MB },
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": { ext: ["pptx"], max: 16 * MB },
  "text/vcard": { ext: ["vcf", "vcard"], max: 16 * MB },
};

// How long a text may be, counted as the server counts (Unicode code points): a message's
// text, and a caption under a photo or video (longer, it goes as a message of its own). Held
// equal to shared::domain::{MAX_TEXT_CHARS, MAX_CAPTION_CHARS} by the same test.
export const TEXT_LIMITS = { text: 1600, caption: 1024 };

/** Whether an attachment of this type carries the text as its caption (images and videos). */
export const takesCaption = (contentType) => /^(image|video)\//.test(contentType || "");

const BY_EXTENSION = Object.fromEntries(
  Object.entries(MEDIA_RULES).flatMap(([type, rule]) => rule.ext.map((e) => [e, type])),
);

/** `{type}` for a file WhatsApp takes, `{error}` with the reason otherwise. */
export function checkFile(file) {
  const extension = (file.name.split(".").pop() || "").toLowerCase();
  const type = MEDIA_RULES[file.type] ? file.type : BY_EXTENSION[extension];
  const rule = type && MEDIA_RULES[type];
  if (!rule) return { error: `WhatsApp does not accept ${file.type || extension || "these"} files.` };
  if (!rule.ext.includes(extension)) return { error: `The file name does not match its type (${type}).` };
  if (file.size === 0) return { error: "The file is empty." };
  if (file.size > rule.max) return { error: `The file is too large: at most ${rule.max / MB} MB for this type.` };
  return { type };
}

// The sentences the page writes itself, as the server words them (shared::domain::sentences;
// the same test holds them equal).
export const SENTENCES = {
  outsideWindow: "This contact hasn't messaged you for more than 24 hours; WhatsApp may require a template message.",
  noContent: "No content to send.",
  sendFailed: "Failed to send via WhatsApp.",
  contactDeleted: "This contact was deleted in the CRM, and its WhatsApp conversation with it.",
};

/** The `{{name}}` placeholders a template uses, in order: body, media, buttons. */
export function placeholders(template) {
  const texts = [template.body, ...(template.media || []), ...(template.actions || []).flatMap((a) => [a.title, a.value || ""])];
  const found = [];
  for (const text of texts) {
    for (const match of text.matchAll(/\{\{([^{}]*)\}\}/g)) {
      const name = match[1].trim();
      if (name && !found.includes(name)) found.push(name);
    }
  }
  return found;
}

/**
 * What a template variable named for a contact field holds for this contact (Twilio's
 * variables may be alphanumeric: `{{first_name}}`, `{{Email}}`); undefined for any other
 * (numbered ones included: their meaning is the template's).
 */
export function contactValue(name, contact) {
  if (!contact) return undefined;
  const words = (contact.name || "").trim().split(/\s+/).filter(Boolean);
  const fields = {
    name: contact.name, fullname: contact.name, contactname: contact.name, customername: contact.name,
    firstname: words[0], lastname: words.length > 1 ? words.slice(1).join(" ") : undefined,
    email: contact.email, phone: contact.phone_number, phonenumber: contact.phone_number, mobile: contact.phone_number,
  };
  const value = fields[name.toLowerCase().replace(/[^a-z]/g, "")];
  return value || undefined;
}

/**
 * A canned response's text filled in: `{{contact.name}}`, `{{contact.first_name}}` (the
 * name's first word), `{{agent.name}}`, and each blank `{{?label}}` with `blanks[label]`.
 * The server refuses any other `{{…}}` when a response is saved.
 */
export function fillCanned(text, { contactName = "", agentName = "", blanks = {} } = {}) {
  const first = contactName.trim().split(/\s+/)[0] || "";
  const known = { "contact.name": contactName, "contact.first_name": first, "agent.name": agentName };
  return text.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (whole, name) => {
    if (name.startsWith("?")) return blanks[name.slice(1).trim()] ?? whole;
    return name in known ? known[name] : whole;
  });
}

/** The blanks (`{{?label}}`) a canned response asks for, each once, in order. */
export function cannedBlanks(text) {
  const labels = [...text.matchAll(/\{\{\s*\?\s*([^}]*?)\s*\}\}/g)].map((m) => m[1]);
  return [...new Set(labels)];
}

/** The canned responses a `/query` picks: shortcut first, then title, by shortcut. */
export function cannedMatches(responses, query) {
  const q = query.toLowerCase();
  const byShortcut = (a, b) => a.shortcut.localeCompare(b.shortcut);
  const starts = responses.filter((r) => r.shortcut.startsWith(q)).sort(byShortcut);
  const titled = responses.filter((r) => !r.shortcut.startsWith(q) && r.title.toLowerCase().includes(q)).sort(byShortcut);
  return starts.concat(titled);
}

// Buttons and lists as WhatsApp takes them (Twilio's quick-reply and list-picker); held
// equal to shared::domain::interactive's limits by the same test.
export const INTERACTIVE_LIMITS = { body: 1024, buttons: 3, buttonTitle: 20, items: 10, listButton: 20, itemTitle: 24, itemDescription: 72 };

const length = (text) => [...(text || "")].length;

/**
 * What is wrong with buttons or a list being built, as the server would say it; "" when
 * they can be sent. `draft`: `{type, body, buttons: [{title}], button, items: [{title,
 * description}]}`.
 */
export function interactiveProblem(draft) {
  const L = INTERACTIVE_LIMITS;
  if (!draft.body.trim()) return "Write the message the options go under.";
  if (length(draft.body) > L.body) return `The message is ${length(draft.body) - L.body} characters too long (at most ${L.body}).`;
  if (draft.body.includes("{{")) return "The message must not contain “{{” (Twilio would read it as a variable).";
  if (draft.type === "buttons") {
    if (!draft.buttons.length) return "Add a button.";
    const empty = draft.buttons.findIndex((b) => !b.title.trim());
    if (empty >= 0) return `Button ${empty + 1} has no words.`;
    const long = draft.buttons.findIndex((b) => length(b.title) > L.buttonTitle);
    if (long >= 0) return `Button ${long + 1} is too long (at most ${L.buttonTitle} characters).`;
    return "";
  }
  if (!draft.button.trim()) return "Write the words of the button that opens the list.";
  if (length(draft.button) > L.listButton) return `The list's button is too long (at most ${L.listButton} characters).`;
  if (!draft.items.length) return "Add an item.";
  const empty = draft.items.findIndex((i) => !i.title.trim());
  if (empty >= 0) return `Item ${empty + 1} has no title.`;
  const long = draft.items.findIndex((i) => length(i.title) > L.itemTitle);
  if (long >= 0) return `Item ${long + 1}'s title is too long (at most ${L.itemTitle} characters).`;
  const wordy = draft.items.findIndex((i) => length(i.description) > L.itemDescription);
  if (wordy >= 0) return `Item ${wordy + 1}'s description is too long (at most ${L.itemDescription} characters).`;
  return "";
}

/**
 * The send's `interactive` for a draft: each option's id is its place (`1`, `2`, …), unique
 * in the message; what the contact tapped comes back as that id.
 */
export function interactivePayload(draft) {
  if (draft.type === "buttons") {
    return { type: "buttons", body: draft.body, buttons: draft.buttons.map((b, i) => ({ id: String(i + 1), title: b.title.trim() })) };
  }
  return {
    type: "list",
    body: draft.body,
    button: draft.button.trim(),
    items: draft.items.map((item, i) => ({
      id: String(i + 1), title: item.title.trim(), ...(item.description.trim() ? { description: item.description.trim() } : {}),
    })),
  };
}
