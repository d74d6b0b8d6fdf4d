// Small DOM helpers. Everything a person or a contact wrote goes in as textContent, never
// as HTML.

export const $ = (id) => document.getElementById(id);

export const MB = 1024 * 1024;

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children.filter(Boolean));
  return node;
}

export function toast(message) {
  const node = el("div", { class: "toast", text: message });
  $("toasts").append(node);
  setTimeout(() => node.remove(), 6000);
}

export function formatSize(bytes) {
  if (bytes >= MB) return `${(bytes / MB).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

/**
 * Arrow keys move the focus along a listbox's options (`ids`, the option at `index` has it);
 * Enter or Space chooses.
 */
export function listKeys(event, ids, index, choose) {
  const move = (to) => {
    const node = document.getElementById(ids[Math.max(0, Math.min(ids.length - 1, to))]);
    if (node) node.focus();
  };
  if (event.key === "ArrowDown") { event.preventDefault(); move(index + 1); }
  else if (event.key === "ArrowUp") { event.preventDefault(); move(index - 1); }
  else if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(); }
}

const DAY_MS = 86400000;

function startOfDay(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** Days from `iso`'s day to today's (0 today, 1 yesterday), in the reader's time zone. */
export function daysAgo(iso, now = new Date()) {
  return Math.round((startOfDay(now) - startOfDay(new Date(iso))) / DAY_MS);
}

/** When, as an inbox row says it: "now", the time today, "Yesterday", the weekday, the date. */
export function relativeTime(iso, now = new Date()) {
  const d = new Date(iso);
  if (now - d < 60000) return "now";
  const days = daysAgo(iso, now);
  if (days <= 0) return clockTime(iso);
  if (days === 1) return "Yesterday";
  if (days < 7) return d.toLocaleDateString(undefined, { weekday: "long" });
  return d.toLocaleDateString(undefined, { dateStyle: "short" });
}

/** The time of day, as a bubble shows it. */
export function clockTime(iso) {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

export function formatTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

/**
 * Nodes kept across renders by key while what they show is the same (`deps`, compared by
 * identity): a tick re-renders one bubble, not the list, so a button being clicked, a voice
 * note playing or a selection stays put.
 */
export class Keyed {
  constructor() {
    this.kept = new Map();
    this.next = new Map();
  }

  reuse(key, deps, make) {
    const old = this.kept.get(key);
    const same = old && old.deps.length === deps.length && old.deps.every((d, i) => d === deps[i]);
    const entry = same ? old : { deps, node: make() };
    this.next.set(key, entry);
    return entry.node;
  }

  /** Makes `box`'s children exactly `nodes`, touching the DOM only where they differ. */
  place(box, nodes) {
    this.kept = this.next;
    this.next = new Map();
    const current = [...box.childNodes];
    if (current.length === nodes.length && current.every((n, i) => n === nodes[i])) return;
    box.replaceChildren(...nodes);
  }
}
