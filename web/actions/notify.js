// Opt-in alerts for an agent who works in another tab: while this tab is hidden, a message
// from a contact plays a short chime and shows a desktop notification (the browser's, with
// its permission) naming the contact; clicking it brings the tab back on that conversation.
// The choice is the agent's own (per `sub`), kept in this browser.

import { state, update } from "../state.js";

const key = () => `whatsapp.notify.${state.agentSub || "anyone"}`;
let audio = null;

/** The signed-in agent's choice, as this browser remembers it. */
export function loadNotifyChoice() {
  let on = false;
  try {
    on = localStorage.getItem(key()) === "on";
  } catch {
    // Storage refused (a private window): off.
  }
  update({ notify: on });
}

/** Turns alerts on or off; on asks the browser's permission for notifications once. */
export async function setNotify(on) {
  if (on) {
    // Made here, in the click: a browser lets sound start only after a user's gesture.
    audio = audio || (window.AudioContext ? new AudioContext() : null);
    if ("Notification" in window && Notification.permission === "default") await Notification.requestPermission();
  }
  try {
    localStorage.setItem(key(), on ? "on" : "off");
  } catch {
    // Not remembered; still in force in this tab.
  }
  update({ notify: on, notifyBlocked: on && "Notification" in window && Notification.permission === "denied" });
}

function chime() {
  if (!audio) return;
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  tone.frequency.value = 880;
  gain.gain.setValueAtTime(0.08, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
  tone.connect(gain).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.35);
}

/** A conversation's row now ends with a new message from its contact. */
export function inboundArrived(row) {
  if (!state.notify || !document.hidden || !row || !row.last_message) return;
  const name = (row.contact && row.contact.name) || "A contact";
  chime();
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const shown = new Notification(`WhatsApp · ${name}`, { body: row.last_message.preview || "New message", tag: `whatsapp-${row.contact_id}` });
  shown.onclick = () => {
    window.focus();
    // The conversation's address opens it (app.js listens).
    location.hash = `#/conversations/${encodeURIComponent(row.contact_id)}`;
    shown.close();
  };
}
