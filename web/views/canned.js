// Canned responses in the composer: `/` opens a list of the organization's shared answers,
// filtered as the agent types (arrows move, Enter or Tab picks, Escape closes); a picked one
// with blanks asks for them; a dialog creates, edits and deletes them.

import {
  cancelCannedFill, closeCannedPick, deleteCanned, finishCannedFill, loadCanned, moveCannedPick,
  openCannedDialog, pickCanned, saveCanned, setCannedBlank,
} from "../actions/canned.js";
import { $, el } from "../dom.js";
import { cannedMatches } from "../rules.js";
import { state, subscribe } from "../state.js";

/** The responses the open `/` list shows. */
function matches(s) {
  return s.cannedPick && s.canned ? cannedMatches(s.canned, s.cannedPick.query).slice(0, 8) : [];
}

function renderPick(s) {
  const list = $("canned-list");
  const shown = matches(s);
  const open = !!s.cannedPick;
  list.hidden = !open;
  const input = $("message-text");
  if (!open) {
    input.removeAttribute("aria-activedescendant");
    list.replaceChildren();
    return;
  }
  const index = Math.min(s.cannedPick.index, Math.max(0, shown.length - 1));
  let empty = null;
  if (s.canned === null) empty = s.cannedError || "Loading canned responses…";
  else if (!shown.length) empty = s.canned.length ? `No canned response starts with “/${s.cannedPick.query}”.` : "Your organization has no canned responses yet: add one under “Canned responses”.";
  list.replaceChildren(
    ...(empty
      ? [el("li", { class: "empty", role: "option", "aria-disabled": "true", "aria-selected": "false", text: empty })]
      : shown.map((r, i) =>
        el(
          "li",
          { id: `canned-option-${i}`, role: "option", "aria-selected": String(i === index), "data-id": r.id, onmousedown: (e) => { e.preventDefault(); pickCanned(r); } },
          el("span", { class: "shortcut", text: `/${r.shortcut}` }),
          el("span", { class: "title", text: r.title }),
          el("span", { class: "preview", text: r.text }),
          buttonsLine(r),
        ))),
  );
  if (shown.length) input.setAttribute("aria-activedescendant", `canned-option-${index}`);
  else input.removeAttribute("aria-activedescendant");
}

/** "Buttons: Yes · No" under a response that goes out with buttons. */
function buttonsLine(r) {
  return r.buttons && r.buttons.length
    ? el("span", { class: "canned-buttons", text: `Buttons: ${r.buttons.map((b) => b.title).join(" · ")}` })
    : null;
}

function renderFill(s) {
  const form = $("canned-fill");
  const fill = s.cannedFill;
  const open = !!fill && !!s.contact;
  const was = !form.hidden;
  form.hidden = !open;
  if (!open) return;
  $("canned-fill-title").textContent = `Fill in “${fill.response.title}”`;
  if (!was || form.dataset.id !== fill.response.id) {
    form.dataset.id = fill.response.id;
    $("canned-fill-fields").replaceChildren(
      ...Object.keys(fill.values).flatMap((label, i) => [
        el("label", { for: `canned-blank-${i}`, text: label }),
        el("input", { id: `canned-blank-${i}`, autocomplete: "off", oninput: (e) => setCannedBlank(label, e.target.value) }),
      ]),
    );
    queueMicrotask(() => $("canned-blank-0") && $("canned-blank-0").focus());
  }
}

function renderDialog(s) {
  const dialog = $("canned-dialog");
  if (s.cannedDialog && !dialog.open) dialog.showModal();
  if (!s.cannedDialog && dialog.open) dialog.close();
  if (!s.cannedDialog) return;
  const notice = $("canned-dialog-notice");
  const list = s.canned ? [...s.canned].sort((a, b) => a.shortcut.localeCompare(b.shortcut)) : [];
  notice.hidden = !!(s.canned && s.canned.length);
  notice.textContent = s.canned === null ? s.cannedError || "Loading…" : "No canned responses yet.";
  $("canned-dialog-list").replaceChildren(
    ...list.map((r) =>
      el(
        "li",
        { "data-id": r.id },
        el("span", { class: "shortcut", text: `/${r.shortcut}` }),
        el("span", { class: "title", text: r.title }),
        el("span", { class: "preview", text: r.text }),
        buttonsLine(r),
        el("button", { type: "button", class: "link", text: "Edit", "aria-label": `Edit /${r.shortcut}`, onclick: () => editInForm(r) }),
        el("button", { type: "button", class: "link", text: "Delete", "aria-label": `Delete /${r.shortcut}`, onclick: () => remove(r) }),
      )),
  );
}

// The response the form edits (null: it creates one).
let editing = null;

function editInForm(r) {
  editing = r;
  $("canned-form-title").textContent = `Edit /${r.shortcut}`;
  $("canned-shortcut").value = r.shortcut;
  $("canned-title").value = r.title;
  $("canned-text").value = r.text;
  (r.buttons || []).forEach((b, i) => ($(`canned-button-${i + 1}`).value = b.title));
  $("canned-new").hidden = false;
  $("canned-shortcut").focus();
}

function resetForm() {
  editing = null;
  $("canned-form").reset();
  $("canned-form-title").textContent = "New canned response";
  $("canned-new").hidden = true;
  $("canned-form-error").hidden = true;
}

async function remove(r) {
  const error = await deleteCanned(r);
  if (error) showFormError(error);
  else if (editing && editing.id === r.id) resetForm();
}

function showFormError(text) {
  const node = $("canned-form-error");
  node.textContent = text;
  node.hidden = !text;
}

async function submitForm(event) {
  event.preventDefault();
  const body = {
    shortcut: $("canned-shortcut").value,
    title: $("canned-title").value,
    text: $("canned-text").value,
    // The buttons typed, in order; each one's id is its place among them.
    buttons: [1, 2, 3].map((n) => $(`canned-button-${n}`).value.trim()).filter(Boolean).map((title, i) => ({ id: String(i + 1), title })),
  };
  if (editing) Object.assign(body, { id: editing.id, updated_at: editing.updated_at });
  const error = await saveCanned(body);
  showFormError(error);
  if (!error) {
    resetForm();
    $("canned-shortcut").focus();
  }
}

/** Keys in the composer while the `/` list is open: the list's, not the composer's. */
function listKeys(event) {
  const s = state;
  if (!s.cannedPick) return;
  const shown = matches(s);
  const index = Math.min(s.cannedPick.index, Math.max(0, shown.length - 1));
  const take = () => {
    event.preventDefault();
    event.stopImmediatePropagation();
  };
  if (event.key === "ArrowDown" && shown.length) {
    take();
    moveCannedPick((index + 1) % shown.length);
  } else if (event.key === "ArrowUp" && shown.length) {
    take();
    moveCannedPick((index - 1 + shown.length) % shown.length);
  } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && shown.length) {
    take();
    pickCanned(shown[index]);
  } else if (event.key === "Escape") {
    take();
    closeCannedPick();
  }
}

export function mountCanned() {
  // Before the composer's own keys (Enter sends): a capture listener on the same element.
  $("message-text").addEventListener("keydown", listKeys, { capture: true });
  $("message-text").addEventListener("blur", () => state.cannedPick && closeCannedPick());
  $("canned-fill").addEventListener("submit", (event) => {
    event.preventDefault();
    if (finishCannedFill()) $("message-text").focus();
  });
  $("canned-fill").addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    cancelCannedFill();
    $("message-text").focus();
  });
  $("canned-fill-cancel").addEventListener("click", () => {
    cancelCannedFill();
    $("message-text").focus();
  });
  $("canned-manage").addEventListener("click", () => openCannedDialog(true));
  $("canned-dialog-close").addEventListener("click", () => openCannedDialog(false));
  // Escape (the browser closes a modal dialog): the store follows.
  $("canned-dialog").addEventListener("close", () => {
    if (state.cannedDialog) openCannedDialog(false);
    $("canned-manage").focus();
  });
  $("canned-form").addEventListener("submit", submitForm);
  $("canned-new").addEventListener("click", resetForm);
  const seen = {};
  subscribe((s) => {
    if (seen.pick !== s.cannedPick || seen.canned !== s.canned) renderPick(s);
    if (seen.fill !== s.cannedFill || seen.contact !== s.contact) renderFill(s);
    if (seen.dialog !== s.cannedDialog || seen.canned !== s.canned) renderDialog(s);
    Object.assign(seen, { pick: s.cannedPick, canned: s.canned, fill: s.cannedFill, dialog: s.cannedDialog, contact: s.contact });
  });
  // The composer is where it is used: read when a conversation first opens.
  subscribe((s) => s.contact && s.canned === null && !s.cannedError && loadCanned());
}
