// Buttons and lists a message offers the contact (`interactive`), and which option the
// contact chose: their tap is an inbound message naming the option's id (`details.button.
// payload`) and, when WhatsApp says so, the message it answers (`details.reply_to`). The
// latest tap on a message is its answer. Pure: the conversation view renders from it.

import { el } from "./dom.js";

/** The options a message offers, as `{id, title, description?}`, in order. */
export function optionsOf(interactive) {
  if (!interactive) return [];
  if (interactive.type === "buttons") return interactive.buttons || [];
  return interactive.items || [];
}

const offers = (m, optionId) => optionsOf(m.interactive).some((o) => o.id === optionId);

/**
 * Message id → the id of the option the contact chose on it, from the taps among `sorted`
 * (ascending). A tap names the message it answers when WhatsApp quotes it; one that does
 * not answers the newest earlier message offering that option.
 */
export function chosenOptions(sorted) {
  const chosen = new Map();
  const offered = [];
  for (const m of sorted) {
    if (m.direction === "OUTBOUND" && m.interactive) {
      offered.push(m);
      continue;
    }
    const tap = m.direction === "INBOUND" && m.details && m.details.button;
    if (!tap || !tap.payload) continue;
    const quotedId = m.details.reply_to && m.details.reply_to.message_id;
    const target = offered.find((o) => o.id === quotedId && offers(o, tap.payload))
      || [...offered].reverse().find((o) => offers(o, tap.payload));
    if (target) chosen.set(target.id, tap.payload);
  }
  return chosen;
}

/**
 * The options under a message's bubble, as the contact sees them; the chosen one marked
 * (for a screen reader too). A list shows its button's words and every item.
 */
export function renderOptions(interactive, chosenId) {
  const options = optionsOf(interactive);
  const list = interactive.type === "list";
  return el(
    "div",
    { class: `options ${list ? "list" : "buttons"}` },
    list ? el("span", { class: "list-button", text: `☰ ${interactive.button}` }) : null,
    el(
      "ul",
      { "aria-label": list ? "List items offered" : "Buttons offered" },
      ...options.map((o) => el(
        "li",
        { class: o.id === chosenId ? "option chosen" : "option", "data-option": o.id },
        el("span", { class: "option-title", text: o.title }),
        o.description ? el("span", { class: "option-description", text: o.description }) : null,
        o.id === chosenId ? el("span", { class: "option-chosen", text: "✓ chosen" }) : null,
      )),
    ),
  );
}
