// Keyboard shortcuts that reach across the page: `/` to the contact search, `?` for the list
// of shortcuts (a dialog that takes focus, closes on Escape and gives focus back).

import { $ } from "../dom.js";

/** Whether a key press belongs to a field being typed in. */
function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

export function mountShortcuts() {
  const dialog = $("shortcuts");
  let returnTo = null;
  const open = () => {
    if (dialog.open) return;
    returnTo = document.activeElement;
    dialog.showModal();
  };
  dialog.addEventListener("close", () => {
    if (returnTo && returnTo.isConnected) returnTo.focus();
    returnTo = null;
  });
  $("shortcuts-open").addEventListener("click", open);
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "?") {
      event.preventDefault();
      open();
    } else if (event.key === "/" && !dialog.open) {
      event.preventDefault();
      $("contact-search").focus();
    }
  });
}
