// The header's alerts switch: the agent's opt-in to a chime and a desktop notification for
// new messages while the tab is hidden (actions/notify.js).

import { setNotify } from "../actions/notify.js";
import { $ } from "../dom.js";
import { state, subscribe } from "../state.js";

export function mountAlerts() {
  const toggle = $("notify-toggle");
  toggle.addEventListener("click", () => setNotify(!state.notify));
  let shown;
  subscribe((s) => {
    const now = `${s.notify}/${s.notifyBlocked}`;
    if (shown === now) return;
    shown = now;
    toggle.setAttribute("aria-pressed", String(s.notify));
    toggle.title = s.notifyBlocked
      ? "This browser blocks notifications for this page: only the chime plays."
      : "A chime and a desktop notification for new messages while this tab is hidden";
  });
}
