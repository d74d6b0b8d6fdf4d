// The emoji picker's data: Unicode's emoji by group, from a maintained data set shipped with
// the page (web/vendor/unicode-emoji-json, the npm package `unicode-emoji-json` as published;
// a browser test holds the copy equal to the pinned package). Read once, when first opened.

import { state, update } from "../state.js";

const DATA = "vendor/unicode-emoji-json/data-by-group.json";

/** Opens or closes the picker; the first opening reads the data set. */
export async function showEmoji(open) {
  update({ emojiOpen: open });
  if (!open || state.emojiGroups) return;
  try {
    const response = await fetch(new URL(DATA, document.baseURI));
    if (!response.ok) throw new Error(String(response.status));
    const groups = await response.json();
    update({ emojiGroups: groups.map((g) => ({ name: g.name, emojis: g.emojis.map((e) => ({ emoji: e.emoji, name: e.name })) })) });
  } catch {
    update({ emojiGroups: [], emojiError: "The emoji could not be loaded." });
  }
}
