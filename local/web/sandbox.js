// The "play the contact" panel of the local runner's Twilio sandbox: reply as the selected
// contact (text, photo, document, voice note, STOP, and WhatsApp's other kinds: a location,
// a button tap, a reply quoting our last message, a message from an ad, an unsupported type,
// a tap on the buttons or list item of our newest message that offers them) and make the
// next send fail. Served by
// the runner at /local/sandbox.js and mounted by the page; never part of the deployed page.
// It also shows what the contact's phone shows of the business: "typing…" while a typing
// indicator is up, and blue ticks on the contact's messages an agent read.

// WhatsApp's other kinds, as Twilio posts them (see /sandbox/reply).
const KINDS = {
  location: () => ({ location: { latitude: 3.139003, longitude: 101.686855, label: "KLCC", address: "Jalan Ampang, Kuala Lumpur" } }),
  button: () => ({ button: { text: "Yes, see you then", payload: "confirm" } }),
  referral: () => ({
    body: "Is this still on offer?",
    referral: { source_url: "https://example.com/ads/spring-sale", headline: "Spring sale", body: "20% off everything", source_type: "ad" },
  }),
  unsupported: () => ({ message_type: "reaction" }),
};

const FAULTS = [
  ["error_code:63003", "Twilio refuses it: not a WhatsApp user (63003)"],
  ["undelivered:30003", "Accepted, then undelivered (30003)"],
  ["server_error::2", "Twilio answers 500 twice (looked up, then sent)"],
  ["accept_then_server_error::1", "Twilio takes it, then answers 502 (looked up, not resent)"],
  ["list_unavailable::20", "Twilio's message list is down (a lost answer stays unconfirmed)"],
  ["bad_credentials::2", "Twilio rejects the credentials (20003)"],
];

// The sender's health as Twilio's Senders API would report it (see /sandbox/senders).
const HEALTH = [
  ["online", "Online, quality high (green)", { status: "ONLINE", quality_rating: "HIGH", messaging_limit: "10K Customers/24hr" }],
  ["medium", "Quality medium (amber)", { status: "ONLINE", quality_rating: "MEDIUM", messaging_limit: "1K Customers/24hr" }],
  ["review", "In review at Twilio (amber)", { status: "TWILIO_REVIEW", quality_rating: "HIGH" }],
  ["offline", "Offline: Meta disabled the account (red)", {
    status: "OFFLINE",
    quality_rating: "LOW",
    offline_reasons: [{ code: "63020", message: "Meta disabled the WhatsApp Business Account", more_info: "https://www.twilio.com/docs/api/errors/63020" }],
  }],
  ["unavailable", "Twilio's Senders API is down", null],
];

/** An element with attributes and children (no HTML parsing anywhere on the page). */
function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function panelContent() {
  return [
    h("h2", { id: "sandbox-title", text: "Play the contact (Twilio sandbox)" }),
    h(
      "form",
      { id: "sandbox-form" },
      h("label", { for: "sandbox-text", text: "Reply as the selected contact" }),
      h("input", { id: "sandbox-text", type: "text", placeholder: "Hello!" }),
      h(
        "div",
        { class: "sandbox-actions" },
        h("button", { type: "submit", text: "Send reply" }),
        h("button", { type: "button", "data-media": "image", text: "Send photo" }),
        h("button", { type: "button", "data-media": "document", text: "Send document" }),
        h("button", { type: "button", "data-media": "voice", text: "Send voice note" }),
        h("button", { type: "button", "data-stop": "", text: "Send STOP" }),
      ),
      h(
        "div",
        { class: "sandbox-actions" },
        h("button", { type: "button", "data-media": "contact", text: "Share a contact" }),
        h("button", { type: "button", "data-media": "sticker", text: "Send a sticker" }),
        h("button", { type: "button", "data-kind": "location", text: "Share a location" }),
        h("button", { type: "button", "data-kind": "button", text: "Tap a button" }),
        h("button", { type: "button", "data-quote": "", text: "Reply to your last message" }),
        h("button", { type: "button", "data-kind": "referral", text: "Write from an ad" }),
        h("button", { type: "button", "data-kind": "unsupported", text: "Send an unsupported type" }),
      ),
      h(
        "div",
        { class: "sandbox-fault" },
        h("label", { for: "sandbox-fault", text: "Make the next send to this contact fail" }),
        h("select", { id: "sandbox-fault" }, ...FAULTS.map(([value, label]) => h("option", { value, text: label }))),
        h("button", { type: "button", id: "sandbox-fail", text: "Arm" }),
        h("span", { id: "sandbox-fault-status", role: "status" }),
      ),
    ),
    h(
      "div",
      { class: "sandbox-fault" },
      h("label", { for: "sandbox-health", text: "Your WhatsApp sender's health at Twilio" }),
      h("select", { id: "sandbox-health" }, ...HEALTH.map(([value, label]) => h("option", { value, text: label }))),
      h("button", { type: "button", id: "sandbox-health-set", text: "Set" }),
      h("span", { id: "sandbox-health-status", role: "status" }),
    ),
    h(
      "div",
      { id: "sandbox-taps", class: "sandbox-actions", role: "group", "aria-label": "Tap as the contact" },
    ),
    h(
      "p",
      { class: "sandbox-agents" },
      h("span", { text: "Work beside a colleague: " }),
      h("span", { id: "sandbox-agents" }),
    ),
    h(
      "div",
      { id: "sandbox-phone", "aria-live": "polite" },
      h("span", { class: "sandbox-phone-title", text: "On the contact's phone: " }),
      h("span", { id: "sandbox-typing" }),
      h("span", { id: "sandbox-ticks" }),
    ),
  ];
}

export function mount({ state, toast, pollSoon, apiUrl }) {
  const stylesheet = document.createElement("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = apiUrl("/local/sandbox.css");
  document.head.append(stylesheet);

  const panel = h("aside", { id: "sandbox-panel", class: "sandbox", "aria-labelledby": "sandbox-title" }, ...panelContent());
  panel.hidden = true;
  document.getElementById("toasts").before(panel);
  const $ = (id) => document.getElementById(id);

  async function post(path, body, refused) {
    try {
      const response = await fetch(apiUrl(path), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) toast((data.error && data.error.message) || refused);
      return response.ok;
    } catch {
      toast("The sandbox cannot be reached.");
      return false;
    }
  }

  // The contact writes to the organization's sender; the sandbox posts Twilio's webhook.
  async function reply(body) {
    if (!state.contact) return toast("Select a contact first.");
    await post(
      "/sandbox/reply",
      { organization_id: state.organization, from: state.contact.phone_number, ...body },
      "The sandbox refused the reply.",
    );
    pollSoon();
  }

  // The sandbox fails the next send to the selected contact, the way Twilio would.
  async function fail() {
    if (!state.contact) return toast("Select a contact first.");
    const [mode, code, times] = $("sandbox-fault").value.split(":");
    const fault = { mode, to: state.contact.phone_number, times: Number(times) || 1 };
    if (code) fault.code = Number(code);
    if (await post("/sandbox/faults", fault, "The sandbox refused the fault.")) {
      $("sandbox-fault-status").textContent = "Armed: the next send to this contact will meet it.";
    }
  }

  $("sandbox-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("sandbox-text").value;
    if (!text.trim()) return;
    $("sandbox-text").value = "";
    reply({ body: text });
  });
  for (const button of panel.querySelectorAll("[data-media]")) {
    button.addEventListener("click", () => reply({ media: button.dataset.media }));
  }
  panel.querySelector("[data-stop]").addEventListener("click", () => reply({ body: "STOP" }));
  for (const button of panel.querySelectorAll("[data-kind]")) {
    button.addEventListener("click", () => reply(KINDS[button.dataset.kind]()));
  }
  // Quote the newest message we sent that Twilio has a sid for.
  panel.querySelector("[data-quote]").addEventListener("click", () => {
    const ours = [...state.messages.values()]
      .filter((m) => m.direction === "OUTBOUND" && m.twilio_message_sid)
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1))[0];
    if (!ours) return toast("Send the contact a message first.");
    reply({ body: "Replying to that", reply_to: ours.twilio_message_sid });
  });
  $("sandbox-fail").addEventListener("click", fail);

  // The sender's health at "Twilio": the header's chip shows it at its next read.
  let senders = [];
  async function setHealth() {
    if (Array.isArray(state.senderHealth) && state.senderHealth.length) senders = state.senderHealth.map((h) => h.sender);
    const [, , health] = HEALTH.find(([value]) => value === $("sandbox-health").value);
    const down = health === null;
    if (!(await post("/sandbox/senders/unavailable", { unavailable: down }, "The sandbox refused the change."))) return;
    if (!down) {
      if (!senders.length) return toast("The page has not read the sender's health yet.");
      for (const sender of senders) {
        if (!(await post("/sandbox/senders", { sender, ...health }, "The sandbox refused the change."))) return;
      }
    }
    $("sandbox-health-status").textContent = "Set: the header shows it at its next read of the channel.";
  }
  $("sandbox-health-set").addEventListener("click", setHealth);

  // The options of the newest message we sent with buttons or a list, to tap as the contact:
  // Twilio posts a button's as ButtonText/ButtonPayload, a list item's as ListTitle/ListId,
  // each quoting the message it answers.
  let tapsFor = null;
  function showTaps() {
    const offer = [...state.messages.values()]
      .filter((m) => m.direction === "OUTBOUND" && m.interactive && m.twilio_message_sid)
      .sort((a, b) => (a.id < b.id ? 1 : -1))[0];
    const key = offer && !panel.hidden ? offer.id : null;
    if (key === tapsFor) return;
    tapsFor = key;
    if (!key) return $("sandbox-taps").replaceChildren();
    const list = offer.interactive.type === "list";
    const options = list ? offer.interactive.items : offer.interactive.buttons;
    $("sandbox-taps").replaceChildren(
      h("span", { text: list ? "Pick from the list: " : "Tap a button: " }),
      ...options.map((o) => {
        const tap = h("button", { type: "button", "data-option": o.id, text: o.title });
        tap.addEventListener("click", () => reply({
          ...(list ? { list: { id: o.id, title: o.title } } : { button: { text: o.title, payload: o.id } }),
          reply_to: offer.twilio_message_sid,
        }));
        return tap;
      }),
    );
  }

  // What the selected contact's phone shows, read from the sandbox every second.
  async function showPhone() {
    showTaps();
    const contact = state.contact;
    if (!contact || !contact.phone_number || panel.hidden) {
      $("sandbox-typing").textContent = "";
      $("sandbox-ticks").textContent = "";
      return;
    }
    try {
      const query = new URLSearchParams({ phone: contact.phone_number, organization_id: state.organization || "" });
      const response = await fetch(apiUrl(`/sandbox/phone?${query}`));
      if (!response.ok || state.contact !== contact) return;
      const phone = await response.json();
      const newest = phone.messages[phone.messages.length - 1];
      $("sandbox-typing").textContent = phone.typing ? "typing…" : "";
      $("sandbox-ticks").textContent = !newest
        ? ""
        : newest.lost
          ? "your last message was lost: Twilio gave up on the webhook"
          : `your last message ${newest.read ? "✓✓ read" : "✓✓ delivered"}`;
      $("sandbox-ticks").className = newest && newest.read ? "read" : "";
    } catch {
      // The next second tries again.
    }
  }
  setInterval(showPhone, 1000);

  // The organization's other demo agents, each a link opening the page as them in a new tab
  // (on the open conversation): presence, notes and the collision guard between two agents.
  function showAgents() {
    const org = state.organizations.find((o) => o.organization_id === state.organization);
    const others = ((org && org.agents) || []).filter((a) => a.sub !== state.agentSub);
    const at = state.contact ? `#/conversations/${encodeURIComponent(state.contact.contact_id)}` : "";
    $("sandbox-agents").replaceChildren(
      ...(others.length
        ? others.map((a) => h("a", { href: `/?agent=${encodeURIComponent(a.sub)}${at}`, target: "_blank", rel: "noopener", text: `open the page as ${a.name}` }))
        : [h("span", { text: "this organization has one agent (add more under \"agents\" in the seed)" })]),
    );
  }
  showAgents();
  document.addEventListener("whatsapp:contact", showAgents);
  document.addEventListener("whatsapp:user", showAgents);
  document.addEventListener("whatsapp:channel", (event) => (panel.hidden = event.detail !== "whatsapp"));
  document.addEventListener("whatsapp:contact", () => ($("sandbox-fault-status").textContent = ""));
}
