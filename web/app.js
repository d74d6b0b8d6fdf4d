// The Send Message screen, WhatsApp channel. Plain ES module, no build step.
// Everything a person or a contact wrote is rendered with textContent, never as HTML.

const config = window.WHATSAPP_CONFIG || {};
const api = (path) => `${config.apiBaseUrl || ""}${path}`;
const pageLimit = () => (config.messagesPageSize ? `&limit=${config.messagesPageSize}` : "");
const $ = (id) => document.getElementById(id);

// Mirrors the server's rules (shared::domain::media; local/tests/web.rs holds the two equal);
// the server checks again.
const MB = 1024 * 1024;
const MEDIA_RULES = {
  "image/jpeg": { ext: ["jpg", "jpeg"], max: 5 * MB },
  "image/png": { ext: ["png"], max: 5 * MB },
  "audio/ogg": { ext: ["ogg", "opus", "oga"], max: 16 * MB },
  "audio/amr": { ext: ["amr"], max: 16 * MB },
  "audio/3gpp": { ext: ["3gp", "3gpp"], max: 16 * MB },
  "audio/aac": { ext: ["aac"], max: 16 * MB },
  "audio/mpeg": { ext: ["mp3", "mpga"], max: 16 * MB },
  "video/mp4": { ext: ["mp4"], max: 16 * MB },
  "application/pdf": { ext: ["pdf"], max: 16 * MB },
  "application/msword": { ext: ["doc"], max: 16 * MB },
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": { ext: ["docx"], max: 16 * MB },
  "application/vnd.ms-excel": { ext: ["xls"], max: 16 * MB },
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { ext: ["xlsx"], max: 16 * MB },
  "application/vnd.ms-powerpoint": { ext: ["ppt"], max: 16 * MB },
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": { ext: ["pptx"], max: 16 * MB },
  "text/vcard": { ext: ["vcf", "vcard"], max: 16 * MB },
};
const BY_EXTENSION = Object.fromEntries(
  Object.entries(MEDIA_RULES).flatMap(([type, rule]) => rule.ext.map((e) => [e, type])),
);

const state = {
  token: null,
  organization: null,
  sandbox: false,
  channelEnabled: false,
  contacts: [],
  contactsCursor: null,
  search: "",
  contact: null,
  messages: new Map(),
  after: null,
  before: null,
  loadingOlder: false,
  pollTimer: null,
  pollFailures: 0,
  attachments: [],
  generation: 0,
  // The selected contact as the last conversation page saw it ({eligible, ineligible_reason}).
  contactState: null,
  windowOpen: true,
};

// ---------- small helpers ----------

function toast(message) {
  const el = document.createElement("div");
  el.className = "toast";
  el.textContent = message;
  $("toasts").append(el);
  setTimeout(() => el.remove(), 6000);
}

function el(tag, props = {}, ...children) {
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

function formatSize(bytes) {
  if (bytes >= MB) return `${(bytes / MB).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

function formatTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(api(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", "The service cannot be reached. Please try again.");
  }
  const data = await response.json().catch(() => null);
  if (response.status === 401) {
    // API Gateway's JWT authorizer refused the token (expired or not the CRM's).
    throw new ApiError(401, "unauthorized", "Your sign-in has expired. Sign in to the CRM again.");
  }
  if (!response.ok) {
    const error = data && data.error;
    throw new ApiError(response.status, error ? error.code : "http", error ? error.message : `Request failed (${response.status}).`);
  }
  return data;
}

// ---------- user / organization ----------

async function loadDemoUsers() {
  if (config.token !== "local-demo") return false;
  let demo;
  try {
    const response = await fetch(api("/local/demo"));
    if (!response.ok) return false;
    demo = await response.json();
  } catch {
    return false;
  }
  const select = $("demo-user");
  select.replaceChildren(
    ...demo.organizations.map((o) =>
      el("option", { value: o.token, text: `${o.user.email} — ${o.name}` }),
    ),
  );
  $("demo-users").hidden = false;
  select.addEventListener("change", () => switchUser(select.value));
  state.sandbox = true;
  state.organizations = demo.organizations;
  return demo.organizations[0] && demo.organizations[0].token;
}

function switchUser(token) {
  state.token = token;
  const org = (state.organizations || []).find((o) => o.token === token);
  state.organization = org ? org.organization_id : null;
  state.generation += 1;
  selectContact(null);
  loadChannel();
  loadContacts(true);
}

// ---------- channel ----------

function showChannel(channel) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.channel === channel));
  }
  $("whatsapp").hidden = channel !== "whatsapp";
  $("other-channel").hidden = channel === "whatsapp";
  $("sandbox-panel").hidden = channel !== "whatsapp" || !state.sandbox;
}

async function loadChannel() {
  const status = $("channel-status");
  try {
    const channel = await call("GET", "/whatsapp/channel");
    state.channelEnabled = channel.enabled;
    status.textContent = channel.enabled ? "" : channel.reason;
    $("tab-whatsapp").disabled = !channel.enabled;
    $("tab-whatsapp").title = channel.enabled ? `Sending from ${channel.sender}` : channel.reason;
  } catch (e) {
    state.channelEnabled = false;
    status.textContent = e.message;
  }
  updateComposer();
}

// ---------- contacts ----------

let searchTimer = null;

async function loadContacts(reset) {
  const generation = state.generation;
  if (reset) {
    state.contacts = [];
    state.contactsCursor = null;
  }
  const params = new URLSearchParams();
  if (state.search) params.set("q", state.search);
  if (state.contactsCursor) params.set("cursor", state.contactsCursor);
  try {
    const page = await call("GET", `/whatsapp/contacts?${params}`);
    if (generation !== state.generation) return;
    state.contacts = reset ? page.contacts : state.contacts.concat(page.contacts);
    state.contactsCursor = page.next_cursor;
    renderContacts();
  } catch (e) {
    toast(e.message);
  }
}

function renderContacts() {
  const list = $("contact-list");
  list.replaceChildren(
    ...state.contacts.map((c) => {
      const selected = state.contact && state.contact.contact_id === c.contact_id;
      const item = el(
        "li",
        { role: "option", id: `contact-${c.contact_id}`, "aria-selected": String(!!selected), tabindex: selected || (!state.contact && c === state.contacts[0]) ? "0" : "-1", "data-id": c.contact_id },
        el("span", { text: c.name }),
        el("span", { class: "meta", text: [c.phone_number, c.email].filter(Boolean).join(" · ") }),
      );
      item.addEventListener("click", () => selectContact(c));
      item.addEventListener("keydown", (event) => contactKeys(event, c));
      return item;
    }),
  );
  $("contacts-empty").hidden = state.contacts.length > 0;
  $("contacts-more").hidden = !state.contactsCursor;
}

function contactKeys(event, contact) {
  const index = state.contacts.indexOf(contact);
  const move = (to) => {
    const next = state.contacts[Math.max(0, Math.min(state.contacts.length - 1, to))];
    const node = next && document.getElementById(`contact-${next.contact_id}`);
    if (node) node.focus();
  };
  if (event.key === "ArrowDown") { event.preventDefault(); move(index + 1); }
  else if (event.key === "ArrowUp") { event.preventDefault(); move(index - 1); }
  else if (event.key === "Enter" || event.key === " ") { event.preventDefault(); selectContact(contact); }
}

// ---------- conversation ----------

const STATUS_LABEL = { PENDING: "pending", SENT: "sent ✓", DELIVERED: "delivered ✓✓", READ: "read ✓✓", FAILED: "failed", RECEIVED: "" };

function selectContact(contact) {
  state.contact = contact;
  state.messages = new Map();
  state.after = null;
  state.before = null;
  state.contactState = null;
  state.windowOpen = true;
  state.generation += 1;
  clearTimeout(state.pollTimer);
  renderContacts();
  $("conversation-title").textContent = contact ? contact.name : "Select a contact";
  $("conversation-sub").textContent = contact ? contact.phone_number || "" : "";
  $("window-warning").hidden = true;
  $("contact-notice").hidden = true;
  $("sandbox-fault-status").textContent = "";
  $("messages").replaceChildren(el("p", { class: "empty", text: contact ? "Loading…" : "Pick a contact to see the conversation." }));
  updateComposer();
  if (contact) loadConversation();
}

async function loadConversation() {
  const generation = state.generation;
  const contact = state.contact;
  try {
    const page = await call("GET", `/whatsapp/messages?contact_id=${encodeURIComponent(contact.contact_id)}${pageLimit()}`);
    if (generation !== state.generation) return;
    applyPage(page, false);
    state.before = page.next_before;
    render(true);
  } catch (e) {
    if (generation === state.generation) $("messages").replaceChildren(el("p", { class: "empty", text: e.message }));
  }
  schedulePoll();
}

// `live`: the page is news (a poll), so a send that failed since is announced.
function applyPage(page, live) {
  for (const m of page.messages) {
    const before = state.messages.get(m.id);
    if (live && m.status === "FAILED" && m.direction === "OUTBOUND" && (!before || before.status !== "FAILED")) {
      toast(m.error_reason || "Failed to send via WhatsApp.");
    }
    state.messages.set(m.id, m);
  }
  if (page.next_after) state.after = page.next_after;
  if (page.window) showWindow(page.window);
  if (page.contact) showContactState(page.contact, live);
}

// A contact who sent STOP (or was blocked) can no longer be written to: say why, lock the
// composer and drop them from the picker, but keep the conversation on screen.
function showContactState(contactState, live) {
  const wasEligible = !state.contactState || state.contactState.eligible;
  state.contactState = contactState;
  const notice = $("contact-notice");
  notice.hidden = contactState.eligible;
  notice.textContent = contactState.eligible ? "" : contactState.ineligible_reason || "This contact cannot be messaged on WhatsApp.";
  if (live && wasEligible !== contactState.eligible) loadContacts(true);
  updateComposer();
}

function showWindow(conversationWindow) {
  state.windowOpen = conversationWindow.open;
  const warning = $("window-warning");
  warning.hidden = conversationWindow.open;
  updateComposer();
  warning.textContent = conversationWindow.open ? "" : "This contact hasn't messaged you for more than 24 hours; WhatsApp may require a template message.";
}

function schedulePoll() {
  clearTimeout(state.pollTimer);
  if (!state.contact) return;
  const base = document.hidden ? config.hiddenPollMs || 15000 : config.pollMs || 3000;
  // A failing poll backs off (up to a minute) and recovers by itself.
  const delay = Math.min(60000, base * 2 ** Math.min(state.pollFailures, 4));
  state.pollTimer = setTimeout(poll, delay);
}

async function poll() {
  const generation = state.generation;
  const contact = state.contact;
  if (!contact || !state.after) return schedulePoll();
  try {
    const page = await call("GET", `/whatsapp/messages?contact_id=${encodeURIComponent(contact.contact_id)}&after=${state.after}`);
    if (generation !== state.generation) return;
    state.pollFailures = 0;
    if (page.messages.length) {
      const atBottom = isAtBottom();
      applyPage(page, true);
      render(atBottom);
    } else if (page.next_after) {
      state.after = page.next_after;
    }
  } catch {
    state.pollFailures += 1;
  }
  if (generation === state.generation) schedulePoll();
}

async function loadOlder() {
  if (!state.before || state.loadingOlder || !state.contact) return;
  state.loadingOlder = true;
  const generation = state.generation;
  const box = $("messages");
  const previousHeight = box.scrollHeight;
  try {
    const page = await call("GET", `/whatsapp/messages?contact_id=${encodeURIComponent(state.contact.contact_id)}&before=${state.before}${pageLimit()}`);
    if (generation !== state.generation) return;
    for (const m of page.messages) state.messages.set(m.id, m);
    state.before = page.next_before;
    render(false);
    box.scrollTop = box.scrollHeight - previousHeight;
  } catch (e) {
    toast(e.message);
  } finally {
    state.loadingOlder = false;
  }
}

function isAtBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
}

// What to call a file the contact sent (WhatsApp media carries no file name).
const TYPE_NAMES = {
  "application/pdf": "PDF file", "application/msword": "Word file", "text/vcard": "contact card",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word file",
  "application/vnd.ms-excel": "Excel file", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel file",
  "application/vnd.ms-powerpoint": "PowerPoint file", "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint file",
};

function renderAttachment(a) {
  const kind = a.content_type.split("/")[0];
  const label = a.filename || TYPE_NAMES[a.content_type] || (kind === "audio" ? "voice note" : kind === "image" ? "photo" : a.content_type);
  if (a.error) return el("p", { class: "status failed", text: `${label}: ${a.error}` });
  if (!a.url) return el("p", { class: "status", text: `${label} (downloading…)` });
  if (a.content_type.startsWith("image/")) return el("a", { href: a.url, target: "_blank", rel: "noopener" }, el("img", { src: a.url, alt: label }));
  if (a.content_type.startsWith("audio/")) return el("audio", { controls: "", src: a.url, "aria-label": label });
  if (a.content_type.startsWith("video/")) return el("video", { controls: "", src: a.url, width: "240", "aria-label": label });
  return el("a", { href: a.url, target: "_blank", rel: "noopener", download: label, text: `Document: ${label}` });
}

function renderMessage(m) {
  const outbound = m.direction === "OUTBOUND";
  const who = outbound ? "You" : (state.contact && state.contact.name) || "Contact";
  const status = outbound ? STATUS_LABEL[m.status] || m.status.toLowerCase() : "";
  const node = el(
    "article",
    { class: `message ${outbound ? "outbound" : "inbound"}`, "data-id": m.id, "data-status": m.status },
    el("span", { class: "who", text: who }),
    ...m.attachments.map(renderAttachment),
    m.text ? el("div", { class: "text", text: m.text }) : null,
    el(
      "div",
      { class: "meta" },
      el("span", { class: "when", text: formatTime(m.created_at) }),
      status ? el("span", { class: `status ${m.status === "FAILED" ? "failed" : ""}`, text: ` · ${status}` }) : null,
    ),
    m.status === "FAILED" && m.error_reason ? el("div", { class: "status failed", text: m.error_reason }) : null,
  );
  return node;
}

function render(scrollToBottom) {
  const box = $("messages");
  const order = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...state.messages.values()].sort(
    (a, b) => order(Date.parse(a.created_at), Date.parse(b.created_at)) || order(a.id, b.id),
  );
  const nodes = sorted.map(renderMessage);
  if (!nodes.length) nodes.push(el("p", { class: "empty", text: "No messages yet." }));
  if (state.before) nodes.unshift(el("button", { class: "link", type: "button", text: "Load older messages", onclick: loadOlder }));
  box.replaceChildren(...nodes);
  if (scrollToBottom) box.scrollTop = box.scrollHeight;
}

// ---------- composer ----------

function updateComposer() {
  const eligible = !state.contactState || state.contactState.eligible;
  const ready = state.channelEnabled && !!state.contact && eligible;
  $("message-text").disabled = !ready;
  $("file-input").disabled = !ready;
  $("attach").classList.toggle("disabled", !ready);
  $("send").disabled = !ready || state.attachments.some((a) => a.state === "uploading");
}

function checkFile(file) {
  const extension = (file.name.split(".").pop() || "").toLowerCase();
  const type = MEDIA_RULES[file.type] ? file.type : BY_EXTENSION[extension];
  const rule = type && MEDIA_RULES[type];
  if (!rule) return { error: `WhatsApp does not accept ${file.type || extension || "these"} files.` };
  if (!rule.ext.includes(extension)) return { error: `The file name does not match its type (${type}).` };
  if (file.size === 0) return { error: "The file is empty." };
  if (file.size > rule.max) return { error: `The file is too large: at most ${rule.max / MB} MB for this type.` };
  return { type };
}

function renderChips() {
  $("chips").replaceChildren(
    ...state.attachments.map((a) =>
      el(
        "li",
        { class: `chip ${a.state === "error" ? "error" : ""}` },
        el("span", { text: `${a.file.name} (${formatSize(a.file.size)})` }),
        a.state === "uploading" ? el("progress", { max: "100", value: String(a.progress), "aria-label": `Uploading ${a.file.name}` }) : null,
        a.state === "error" ? el("span", { text: a.error }) : null,
        el("button", { type: "button", "aria-label": `Remove ${a.file.name}`, text: "×", onclick: () => removeAttachment(a) }),
      ),
    ),
  );
  updateComposer();
}

function removeAttachment(a) {
  if (a.xhr) a.xhr.abort();
  state.attachments = state.attachments.filter((x) => x !== a);
  renderChips();
}

async function addFiles(files) {
  for (const file of files) {
    const check = checkFile(file);
    if (check.error) {
      toast(`${file.name}: ${check.error}`);
      continue;
    }
    const entry = { file, type: check.type, state: "uploading", progress: 0 };
    state.attachments.push(entry);
    renderChips();
    upload(entry);
  }
}

async function upload(entry) {
  try {
    const presigned = await call("POST", "/whatsapp/attachments", { filename: entry.file.name, content_type: entry.type, size: entry.file.size });
    await new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      entry.xhr = xhr;
      xhr.open(presigned.upload.method, presigned.upload.url);
      for (const [k, v] of Object.entries(presigned.upload.headers)) {
        if (k.toLowerCase() !== "content-length") xhr.setRequestHeader(k, v);
      }
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) {
          entry.progress = Math.round((e.loaded / e.total) * 100);
          renderChips();
        }
      };
      xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error("The upload was refused.")));
      xhr.onerror = () => reject(new Error("The upload failed."));
      xhr.onabort = () => reject(new Error("Upload cancelled."));
      xhr.send(entry.file);
    });
    entry.attachment = presigned.attachment;
    entry.state = "ready";
  } catch (e) {
    entry.state = "error";
    entry.error = e.message;
  }
  renderChips();
}

async function send(event) {
  event.preventDefault();
  if (!state.contact || !state.channelEnabled) return;
  const text = $("message-text").value;
  const ready = state.attachments.filter((a) => a.state === "ready");
  if (!text.trim() && !ready.length) {
    toast("No content to send.");
    return;
  }
  // Shown at once as pending; replaced by what the server stored.
  const temporaryId = `pending-${Date.now()}`;
  state.messages.set(temporaryId, {
    id: "~" + temporaryId, direction: "OUTBOUND", message_type: "TEXT", text: text.trim() ? text : null,
    attachments: [], status: "PENDING", created_at: new Date().toISOString(),
  });
  render(true);
  $("send").disabled = true;
  try {
    const accepted = await call("POST", "/whatsapp/messages", {
      contact_id: state.contact.contact_id,
      text: text.trim() ? text : null,
      attachments: ready.map((a) => a.attachment),
    });
    state.messages.delete(temporaryId);
    for (const m of accepted.messages) state.messages.set(m.id, m);
    $("message-text").value = "";
    state.attachments = state.attachments.filter((a) => !ready.includes(a));
    renderChips();
  } catch (e) {
    state.messages.delete(temporaryId);
    toast(e.message);
  }
  render(true);
  updateComposer();
}

// ---------- sandbox panel (local runner only) ----------

async function sandboxReply(body) {
  if (!state.contact) {
    toast("Select a contact first.");
    return;
  }
  try {
    const response = await fetch(api("/sandbox/reply"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ organization_id: state.organization, from: state.contact.phone_number, ...body }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) toast((data.error && data.error.message) || "The sandbox refused the reply.");
  } catch {
    toast("The sandbox cannot be reached.");
  }
  clearTimeout(state.pollTimer);
  state.pollTimer = setTimeout(poll, 300);
}

// Makes the sandbox fail the next send to the selected contact, the way Twilio would.
async function sandboxFault() {
  if (!state.contact) {
    toast("Select a contact first.");
    return;
  }
  const [mode, code, times] = $("sandbox-fault").value.split(":");
  const fault = { mode, to: state.contact.phone_number, times: Number(times) || 1 };
  if (code) fault.code = Number(code);
  try {
    const response = await fetch(api("/sandbox/faults"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(fault),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) toast((data.error && data.error.message) || "The sandbox refused the fault.");
    else $("sandbox-fault-status").textContent = "Armed: the next send to this contact will meet it.";
  } catch {
    toast("The sandbox cannot be reached.");
  }
}

// ---------- wiring ----------

function wire() {
  for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => showChannel(tab.dataset.channel));
  $("contact-search").addEventListener("input", (event) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.search = event.target.value.trim();
      state.generation += 1;
      loadContacts(true);
    }, 300);
  });
  $("contacts-more").addEventListener("click", () => loadContacts(false));
  $("messages").addEventListener("scroll", (event) => {
    if (event.target.scrollTop < 30) loadOlder();
  });
  $("composer").addEventListener("submit", send);
  $("message-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("file-input").addEventListener("change", (event) => {
    addFiles([...event.target.files]);
    event.target.value = "";
  });
  document.addEventListener("visibilitychange", () => schedulePoll());
  $("sandbox-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("sandbox-text").value;
    if (!text.trim()) return;
    $("sandbox-text").value = "";
    sandboxReply({ body: text });
  });
  for (const button of document.querySelectorAll("#sandbox-form [data-media]")) {
    button.addEventListener("click", () => sandboxReply({ media: button.dataset.media }));
  }
  document.querySelector("#sandbox-form [data-stop]").addEventListener("click", () => sandboxReply({ body: "STOP" }));
  $("sandbox-fail").addEventListener("click", sandboxFault);
}

async function start() {
  wire();
  let token = await loadDemoUsers();
  if (!token && config.token === "session") token = sessionStorage.getItem(config.tokenKey || "crm.id_token");
  if (!token) {
    $("channel-status").textContent = "Sign in to the CRM to use WhatsApp.";
    return;
  }
  showChannel("whatsapp");
  switchUser(token);
}

start();
