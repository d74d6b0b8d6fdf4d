// The builder of buttons and lists, above the composer while one is being built for the
// open conversation: its kind (up to 3 buttons, or a list of up to 10 items opened by a
// button), the message they go under, each option's words, what is wrong with it as
// WhatsApp would say, and Send. Only inside the 24-hour window, as free text.

import { addOption, buildInteractive, closeBuilder, editBuilder, editOption, removeOption, sendInteractive } from "../actions/interactive.js";
import { $, el } from "../dom.js";
import { INTERACTIVE_LIMITS, interactiveProblem } from "../rules.js";
import { builderOf, composing, state, subscribe } from "../state.js";

const KINDS = {
  buttons: { add: "Add a button", send: "Send buttons", max: INTERACTIVE_LIMITS.buttons },
  items: { add: "Add an item", send: "Send list", max: INTERACTIVE_LIMITS.items },
};

const kindOf = (draft) => (draft.type === "buttons" ? "buttons" : "items");

function field(id, label, value, max, onInput) {
  return [
    el("label", { for: id, text: label }),
    el("input", { id, value, maxlength: String(max), autocomplete: "off", oninput: (event) => onInput(event.target.value) }),
  ];
}

/** One option's fields: a button's words, or an item's title and description. */
function renderOption(kind, option, index, count) {
  const n = index + 1;
  const fields = kind === "buttons"
    ? field(`interactive-button-${n}`, `Button ${n}`, option.title, INTERACTIVE_LIMITS.buttonTitle, (title) => editOption(kind, index, { title }))
    : [
      ...field(`interactive-item-${n}`, `Item ${n}`, option.title, INTERACTIVE_LIMITS.itemTitle, (title) => editOption(kind, index, { title })),
      ...field(`interactive-description-${n}`, `Item ${n} description (optional)`, option.description, INTERACTIVE_LIMITS.itemDescription, (description) => editOption(kind, index, { description })),
    ];
  const remove = el("button", {
    type: "button",
    class: "link",
    "aria-label": `Remove ${kind === "buttons" ? "button" : "item"} ${n}`,
    text: "Remove",
    onclick: () => removeOption(kind, index),
  });
  remove.disabled = count <= 1;
  return el("li", { class: "interactive-option" }, ...fields, remove);
}

/** The fields are drawn again only when their shape changes, so typing keeps its place. */
function shapeOf(s, draft) {
  return draft ? `${s.contact.contact_id}:${draft.type}:${draft[kindOf(draft)].length}` : "";
}

function render(s, shown) {
  const draft = builderOf(s);
  const { usable, templatesOnly, note } = composing(s);
  const visible = !!draft && usable && !templatesOnly && !note;
  const form = $("interactive-builder");
  form.hidden = !visible;
  $("interactive-toggle").disabled = !usable || templatesOnly || note || !!draft;
  $("interactive-toggle").hidden = note;
  if (!visible) {
    shown.shape = "";
    return;
  }
  const kind = kindOf(draft);
  const shape = shapeOf(s, draft);
  if (shape !== shown.shape) {
    const first = !shown.shape;
    shown.shape = shape;
    $(`interactive-type-${draft.type}`).checked = true;
    $("interactive-body").value = draft.body;
    $("interactive-list-button").value = draft.button;
    const options = draft[kind];
    $("interactive-options").replaceChildren(...options.map((o, i) => renderOption(kind, o, i, options.length)));
    if (first) queueMicrotask(() => $("interactive-body").focus());
  }
  $("interactive-list-button-row").hidden = draft.type !== "list";
  $("interactive-add").textContent = KINDS[kind].add;
  $("interactive-add").disabled = draft[kind].length >= KINDS[kind].max;
  const problem = interactiveProblem(draft);
  $("interactive-problem").textContent = problem;
  $("interactive-send").textContent = KINDS[kind].send;
  $("interactive-send").disabled = !!problem || s.interactiveSending;
}

export function mountInteractive() {
  const shown = { shape: "" };
  $("interactive-toggle").addEventListener("click", () => buildInteractive());
  for (const type of ["buttons", "list"]) {
    $(`interactive-type-${type}`).addEventListener("change", () => editBuilder({ type }));
  }
  $("interactive-body").addEventListener("input", (event) => editBuilder({ body: event.target.value }));
  $("interactive-list-button").addEventListener("input", (event) => editBuilder({ button: event.target.value }));
  $("interactive-add").addEventListener("click", () => {
    const draft = builderOf(state);
    if (!draft) return;
    const kind = kindOf(draft);
    addOption(kind);
    // The new option's words are typed next.
    const n = builderOf(state)[kind].length;
    queueMicrotask(() => {
      const input = $(kind === "buttons" ? `interactive-button-${n}` : `interactive-item-${n}`);
      if (input) input.focus();
    });
  });
  $("interactive-cancel").addEventListener("click", () => {
    closeBuilder();
    $("message-text").focus();
  });
  $("interactive-builder").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await sendInteractive()) $("message-text").focus();
  });
  subscribe((s) => render(s, shown));
}
