// The emoji picker beside the message box: groups of Unicode's emoji, searchable by name; a
// choice goes in at the caret. It takes the focus, closes on Escape (or outside it) and gives
// the focus back to the message box.

import { draftTyped } from "../actions/drafts.js";
import { showEmoji } from "../actions/emoji.js";
import { $, el } from "../dom.js";
import { composing, state, subscribe } from "../state.js";

/** Puts `text` at the message box's caret, as if typed. */
function insert(text) {
  const box = $("message-text");
  const start = box.selectionStart ?? box.value.length;
  const end = box.selectionEnd ?? box.value.length;
  box.setRangeText(text, start, end, "end");
  draftTyped(box.value);
  box.focus();
}

function renderGroups(s, query) {
  const root = $("emoji-groups");
  if (!s.emojiGroups) return root.replaceChildren(el("p", { class: "empty", text: "Loading…" }));
  if (s.emojiError) return root.replaceChildren(el("p", { class: "empty", text: s.emojiError }));
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const matches = (e) => words.every((w) => e.name.includes(w));
  const groups = s.emojiGroups
    .map((g) => ({ name: g.name, emojis: words.length ? g.emojis.filter(matches) : g.emojis }))
    .filter((g) => g.emojis.length);
  if (!groups.length) return root.replaceChildren(el("p", { class: "empty", text: "No emoji found." }));
  root.replaceChildren(...groups.map((g) => el(
    "section",
    { class: "emoji-group", "aria-label": g.name },
    el("h4", { text: g.name }),
    el("div", { class: "emoji-grid" }, ...g.emojis.map((e) => el("button", {
      type: "button", class: "emoji", title: e.name, "aria-label": e.name, text: e.emoji,
      onclick: () => {
        insert(e.emoji);
        showEmoji(false);
      },
    }))),
  )));
}

export function mountEmoji() {
  const toggle = $("emoji-toggle");
  const picker = $("emoji-picker");
  const search = $("emoji-search");
  toggle.addEventListener("click", () => showEmoji(!state.emojiOpen));
  search.addEventListener("input", () => renderGroups(state, search.value));
  picker.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    event.stopPropagation();
    showEmoji(false);
    $("message-text").focus();
  });
  document.addEventListener("pointerdown", (event) => {
    if (state.emojiOpen && !picker.contains(event.target) && event.target !== toggle) showEmoji(false);
  });
  const seen = {};
  subscribe((s) => {
    toggle.disabled = !composing(s).usable;
    if (seen.open === s.emojiOpen && seen.groups === s.emojiGroups) return;
    const opening = s.emojiOpen && !seen.open;
    Object.assign(seen, { open: s.emojiOpen, groups: s.emojiGroups });
    picker.hidden = !s.emojiOpen;
    toggle.setAttribute("aria-expanded", String(s.emojiOpen));
    if (!s.emojiOpen) return;
    if (opening) search.value = "";
    renderGroups(s, search.value);
    if (opening) search.focus();
  });
}
