// The conversation: sending, live replies, failures, opt-out and history, in a real browser.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { assertClean, checkpoint, contact, message, root, selectContact, send, texts, useBrowser } from "./harness.mjs";

const AISHA = "+60123456789";
const BEN = "+6591234567";
const CARLA = "+447911123456";
const DEV = "+14155550123";
const WINDOW_MESSAGE = "This contact hasn't messaged you for more than 24 hours; WhatsApp may require a template message.";

const { session } = useBrowser();

test("a multi-line text shows at once as pending, then ticks up to read", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  assert.equal(await page.locator("#window-warning").isHidden(), true, "Aisha wrote 30 minutes ago");
  await checkpoint(page, "01-contact-selected");

  // Hold the API's answer: the message must already be on screen, pending.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  await page.route("**/whatsapp/messages", async (route) => {
    if (route.request().method() === "POST") await held;
    await route.continue();
  });
  await page.locator("#message-text").fill("Hello Aisha,");
  await page.locator("#message-text").press("Shift+Enter");
  await page.locator("#message-text").pressSequentially("your order has shipped.");
  assert.equal(await page.locator("#message-text").inputValue(), "Hello Aisha,\nyour order has shipped.");
  await page.locator("#message-text").press("Enter");
  const pending = message(page, "your order has shipped.", "PENDING");
  await pending.waitFor();
  assert.equal(await pending.locator(".tick").getAttribute("aria-label"), "Sending");
  const accepted = page.waitForResponse((r) => r.url().endsWith("/whatsapp/messages") && r.request().method() === "POST");
  release();
  assert.equal((await accepted).status(), 202);
  await page.unroute("**/whatsapp/messages");

  const read = message(page, "your order has shipped.", "READ");
  await read.waitFor();
  assert.equal(await read.locator(".text").textContent(), "Hello Aisha,\nyour order has shipped.");
  assert.equal(await read.locator(".who").textContent(), "You");
  // WhatsApp's blue double tick, with its words for a screen reader.
  const tick = read.locator(".tick");
  assert.equal(await tick.innerText(), "✓✓");
  assert.equal(await tick.getAttribute("aria-label"), "Read");
  assert.equal(await tick.evaluate((node) => getComputedStyle(node).color), "rgb(29, 155, 240)");
  assert.equal(await page.locator("article.message").count(), 1, "the pending copy was replaced, not duplicated");
  assert.equal(await read.evaluate((node) => node.classList.contains("outbound")), true);
  assert.equal(await page.locator("#message-text").inputValue(), "", "the composer is cleared");
  await checkpoint(page, "02-sent-and-read");

  // What Twilio got: the same text, to Aisha's WhatsApp number.
  const sandbox = await (await fetch(`${runner.base}/sandbox/messages`)).json();
  const sent = sandbox.filter((m) => m.direction === "outbound-api");
  assert.equal(sent.length, 1);
  assert.equal(sent[0].to, `whatsapp:${AISHA}`);
  assert.equal(sent[0].body, "Hello Aisha,\nyour order has shipped.");
  assertClean(assert, problems);
});

test("a reply appears without a reload, from the API and from the sandbox panel", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Carla Mendes");
  await page.evaluate(() => (window.notReloaded = true));

  await runner.reply("acme", CARLA, { body: "Hi, is my parcel on its way?" });
  const reply = message(page, "Hi, is my parcel on its way?", "RECEIVED");
  await reply.waitFor();
  assert.equal(await reply.locator(".who").textContent(), "Carla Mendes");
  assert.equal(await reply.evaluate((node) => node.classList.contains("inbound")), true);

  await page.locator("#sandbox-text").fill("And a second question");
  await page.getByRole("button", { name: "Send reply" }).click();
  await message(page, "And a second question", "RECEIVED").waitFor();
  assert.deepEqual(
    await texts(page.locator("article.message .text")),
    ["Hi, is my parcel on its way?", "And a second question"],
    "oldest first",
  );
  assert.equal(await page.evaluate(() => window.notReloaded), true);
  await checkpoint(page, "03-reply-received");
  assertClean(assert, problems);
});

// Polling without push (push's own fallback is in live.test.mjs).
test("polling survives failed polls and catches up", async (t) => {
  const { runner, page, problems } = await session(t, { page: { config: { live: false } } });
  await selectContact(page, "Ben Ong");
  let refused = 0;
  const refuse = (route) => {
    refused += 1;
    return route.abort("connectionrefused");
  };
  await page.route(/\/whatsapp\/messages\?.*after=/, refuse);
  await runner.reply("acme", BEN, { body: "Sent while the network was down" });
  while (refused < 2) await page.waitForTimeout(200);
  assert.equal(await message(page, "Sent while the network was down").count(), 0);
  await page.unroute(/\/whatsapp\/messages\?.*after=/, refuse);
  await message(page, "Sent while the network was down", "RECEIVED").waitFor({ timeout: 30_000 });
  assertClean(assert, problems, [/ERR_CONNECTION_REFUSED/]);
});

test("polling slows down while the tab is hidden and speeds up when it is back", async (t) => {
  const { page, problems } = await session(t, { page: { config: { live: false } } });
  await selectContact(page, "Ben Ong");
  let polls = 0;
  page.on("request", (request) => {
    if (/\/whatsapp\/messages\?.*after=/.test(request.url())) polls += 1;
  });
  const setHidden = (hidden) =>
    page.evaluate((value) => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => value });
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);

  await page.waitForTimeout(3000);
  const visible = polls;
  assert.ok(visible >= 3, `every 0.7 s while visible (${visible} polls in 3 s)`);
  await setHidden(true);
  polls = 0;
  await page.waitForTimeout(3000);
  assert.ok(polls <= 1, `every 5 s while hidden (${polls} polls in 3 s)`);
  await setHidden(false);
  polls = 0;
  await page.waitForTimeout(3000);
  assert.ok(polls >= 3, `fast again when visible (${polls} polls in 3 s)`);
  assertClean(assert, problems);
});

test("outside the 24-hour window the composer offers templates only, and a reply opens the window", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Dev Patel");
  const warning = page.locator("#window-warning");
  await warning.waitFor();
  assert.equal(await warning.textContent(), WINDOW_MESSAGE);
  await page.locator("#templates").waitFor();
  assert.equal(await page.locator("#message-text").isVisible(), false, "no free-form text outside the window");
  assert.equal(await page.locator("#template-close").isVisible(), false, "the picker cannot be closed there");
  await checkpoint(page, "04-window-closed");

  // The server refuses free-form all the same, with the template hint.
  const refused = await runner.api("acme", "POST", "/whatsapp/messages", { contact_id: "c-dev", text: "Are you still interested?" });
  assert.equal(refused.status, 422);
  assert.equal(refused.body.error.message, WINDOW_MESSAGE);

  await runner.reply("acme", DEV, { body: "Yes, tell me more" });
  await message(page, "Yes, tell me more", "RECEIVED").waitFor();
  await warning.waitFor({ state: "hidden" });
  await page.locator("#templates").waitFor({ state: "hidden" });
  await send(page, "Great, here are the details");
  await message(page, "Great, here are the details", "READ").waitFor();
  assertClean(assert, problems);
});

test("a failing send shows its reason as a toast and in the conversation", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");

  await runner.fault({ mode: "error_code", code: 63003, to: AISHA, times: 1 });
  await send(page, "This one cannot be delivered");
  const failed = message(page, "This one cannot be delivered", "FAILED");
  await failed.waitFor();
  const reason = await failed.locator("div.status.failed").textContent();
  assert.match(reason, /^Failed to send via WhatsApp: .*63003/);
  await page.locator(".toast", { hasText: reason }).waitFor();
  const mark = failed.locator("span.tick");
  assert.equal(await mark.textContent(), "!");
  assert.equal(await mark.getAttribute("aria-label"), `Failed: ${reason}`);
  assert.equal(await mark.evaluate((node) => getComputedStyle(node).color), "rgb(180, 35, 24)");
  await checkpoint(page, "05-send-failed");

  // The same by clicking: the sandbox panel arms a fault for the selected contact.
  await page.locator("#sandbox-fault").selectOption("undelivered:30003");
  await page.getByRole("button", { name: "Arm" }).click();
  await page.locator("#sandbox-fault-status", { hasText: "Armed" }).waitFor();
  await send(page, "Accepted but never arrives");
  const undelivered = message(page, "Accepted but never arrives", "FAILED");
  await undelivered.waitFor();
  assert.match(await undelivered.locator("div.status.failed").textContent(), /Failed to send via WhatsApp: .*30003/);

  // Twilio's 5xx are retried: the message still ends up read.
  await page.locator("#sandbox-fault").selectOption("server_error::2");
  await page.getByRole("button", { name: "Arm" }).click();
  await send(page, "Delivered after two retries");
  await message(page, "Delivered after two retries", "READ").waitFor({ timeout: 30_000 });
  const attempts = (await (await fetch(`${runner.base}/sandbox/messages`)).json())
    .filter((m) => m.body === "Delivered after two retries");
  assert.equal(attempts.length, 1, "only the successful attempt was accepted by the sandbox");
  assertClean(assert, problems);
});

test("a failed message is sent again once, however often Retry is pressed; its text can be copied; a closed window offers a template", async (t) => {
  const { runner, page, problems } = await session(t);
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await selectContact(page, "Aisha Rahman");
  const accepted = async (text) =>
    (await (await fetch(`${runner.base}/sandbox/messages`)).json()).filter((m) => m.body === text).length;

  await runner.fault({ mode: "error_code", code: 63003, to: AISHA, times: 1 });
  await send(page, "Your table is booked");
  const failed = message(page, "Your table is booked", "FAILED");
  await failed.waitFor();
  assert.equal(await accepted("Your table is booked"), 0);

  await checkpoint(page, "05c-failed-retry");
  // Twice at once, then once more from a second tab's code: one send.
  const retry = failed.getByRole("button", { name: "Retry" });
  await retry.dblclick();
  await message(page, "Your table is booked", "READ").waitFor({ timeout: 20_000 });
  await failed.getByText("Sent again").waitFor();
  assert.equal(await failed.getByRole("button", { name: "Retry" }).count(), 0);
  const failedCopy = (await runner.api("acme", "GET", "/whatsapp/messages?contact_id=c-aisha&limit=50")).body.messages
    .find((m) => m.status === "FAILED" && m.text === "Your table is booked");
  await page.evaluate(async (m) => {
    const { retryFailed } = await import("/actions/compose.js");
    await retryFailed(m);
  }, failedCopy);
  assert.equal(await accepted("Your table is booked"), 1, "one send reached Twilio");
  assert.equal(await page.locator("article.message .text", { hasText: "Your table is booked" }).count(), 2, "the failed one and its retry");

  await failed.getByRole("button", { name: "Copy text" }).click();
  await page.locator(".toast", { hasText: "Text copied." }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "Your table is booked");

  // Refused because the window closed (63016): no Retry, a template instead.
  await runner.fault({ mode: "error_code", code: 63016, to: AISHA, times: 1 });
  await send(page, "Are you still there?");
  const closed = message(page, "Are you still there?", "FAILED");
  await closed.waitFor();
  assert.equal(await closed.getByRole("button", { name: "Retry" }).count(), 0);
  await closed.getByRole("button", { name: "Send a template" }).click();
  await page.locator("#templates").waitFor();
  assertClean(assert, problems, [/status of 4\d\d|Failed to send|24 hours/]);
});

test("a send Twilio may have taken is never sent twice, and one it cannot confirm says so", async (t) => {
  // Few quick attempts, so that the doubt is settled within the test.
  const { runner, page, problems } = await session(t, { runner: { env: { SEND_MAX_ATTEMPTS: "2", SEND_RETRY_BASE_MS: "100" } } });
  await selectContact(page, "Aisha Rahman");
  const accepted = async (text) =>
    (await (await fetch(`${runner.base}/sandbox/messages`)).json()).filter((m) => m.body === text).length;

  // Twilio took it, then its edge answered 502: looked up, not sent again, and read.
  await runner.fault({ mode: "accept_then_server_error", to: AISHA, times: 1 });
  await send(page, "Taken behind a 502");
  await message(page, "Taken behind a 502", "READ").waitFor({ timeout: 20_000 });
  assert.equal(await accepted("Taken behind a 502"), 1);

  // Twilio answers 500 and its message list stays down: the outcome is unknown, so the
  // message is neither resent nor called failed.
  await runner.fault({ mode: "server_error", to: AISHA, times: 1 });
  await runner.fault({ mode: "list_unavailable", to: AISHA, times: 20 });
  await send(page, "Nobody can say");
  const doubtful = message(page, "Nobody can say", "UNCONFIRMED");
  await doubtful.waitFor({ timeout: 20_000 });
  assert.match(await doubtful.locator("span.status").textContent(), /being confirmed/);
  assert.match(await doubtful.locator("div.status.unconfirmed").textContent(), /^Not confirmed by Twilio yet: .* It will not be sent again/);
  assert.equal(await page.locator(".toast", { hasText: "Nobody can say" }).count(), 0);
  assert.equal(await accepted("Nobody can say"), 0, "never sent blindly");
  await checkpoint(page, "05b-send-unconfirmed");
  assertClean(assert, problems);
});

test("message text that looks like HTML is shown literally", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  const html = "<img src=x onerror=alert(1)>";
  await send(page, html);
  const sent = message(page, html, "READ");
  await sent.waitFor();
  assert.equal(await sent.locator(".text").textContent(), html);

  await runner.reply("acme", AISHA, { body: "<script>alert(2)</script><b>bold?</b>" });
  const reply = message(page, "<b>bold?</b>", "RECEIVED");
  await reply.waitFor();
  assert.equal(await reply.locator(".text").textContent(), "<script>alert(2)</script><b>bold?</b>");
  assert.equal(await page.locator("#messages img, #messages script, #messages b").count(), 0);
  await page.waitForTimeout(500);
  await checkpoint(page, "06-html-as-text");
  assertClean(assert, problems);
});

test("STOP from the contact locks the composer and drops them from the list; START brings them back", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Ben Ong");
  await send(page, "Our spring catalogue is out");
  await message(page, "Our spring catalogue is out", "READ").waitFor();

  await page.getByRole("button", { name: "Send STOP" }).click();
  await message(page, "STOP", "RECEIVED").waitFor();
  const notice = page.locator("#contact-notice");
  await notice.waitFor();
  assert.equal(await notice.textContent(), "Contact has not opted in to WhatsApp.");
  assert.equal(await page.locator("#message-text").isDisabled(), true);
  assert.equal(await page.locator("#send").isDisabled(), true);
  // He leaves the contacts one may write to; his conversation stays in the inbox, with a dot
  // that says why.
  await page.locator("#contact-list li", { hasText: "Ben Ong" }).waitFor({ state: "detached" });
  const row = page.locator("#conversation-list li", { hasText: "Ben Ong" });
  assert.equal(await row.locator(".dot").getAttribute("aria-label"), "Cannot be messaged: Contact has not opted in to WhatsApp.");
  assert.equal(await message(page, "Our spring catalogue is out").count(), 1, "the history stays on screen");
  await checkpoint(page, "07-contact-opted-out");

  await runner.reply("acme", BEN, { body: "START" });
  await notice.waitFor({ state: "hidden" });
  assert.equal(await page.locator("#message-text").isDisabled(), false);
  await row.locator(".dot").waitFor({ state: "detached" });
  assertClean(assert, problems);
});

test("a contact deleted in the CRM leaves the screen with its conversation", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Ben Ong");
  await send(page, "Your invoice is attached");
  await message(page, "Your invoice is attached", "READ").waitFor();
  await runner.reply("acme", BEN, { body: "Thanks, got it" });
  await message(page, "Thanks, got it", "RECEIVED").waitFor();

  await runner.deleteContact("acme", "c-ben");
  // The next poll learns the contact is gone: the conversation leaves the screen.
  const gone = "This contact was deleted in the CRM, and its WhatsApp conversation with it.";
  await page.locator("#contact-notice", { hasText: gone }).waitFor();
  assert.equal(await page.locator("#messages").innerText(), "", "nothing of the conversation stays on screen");
  assert.equal(await page.locator("#message-text").isDisabled(), true);
  assert.equal(await page.locator("#send").isDisabled(), true);
  await contact(page, "Ben Ong").waitFor({ state: "detached" });
  // And it stays gone: the server erased it, so a fresh page has nothing either.
  const answer = await runner.api("acme", "GET", "/whatsapp/messages?contact_id=c-ben");
  assert.equal(answer.status, 404);
  await checkpoint(page, "07b-contact-deleted");
  assertClean(assert, problems, [/status of 404/]);
});

test("each outbound message says who sent it: You, another agent by name, the API; older ones say nothing", async (t) => {
  const { runner, page, problems } = await session(t);
  const acme = runner.demo.organizations.find((o) => o.organization_id === "acme");
  const sam = acme.agents.find((a) => a.name === "Sam Okafor");
  assert.ok(sam && sam.token !== acme.token, "the seed's second agent has a token of its own");
  await selectContact(page, "Aisha Rahman");
  await send(page, "Mine to Aisha");
  await message(page, "Mine to Aisha", "SENT").waitFor();

  // Another agent of the organization sends with their own token: their name, live.
  const answer = await fetch(`${runner.base}/whatsapp/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${sam.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ contact_id: "c-aisha", text: "Sam here" }),
  });
  assert.equal(answer.status, 202);
  assert.deepEqual((await answer.json()).messages[0].agent, { sub: sam.sub, name: "Sam Okafor" });
  await message(page, "Sam here").waitFor();

  // An integration's send (a token without a user) and one from before senders were recorded,
  // as the list and live events carry them.
  const whole = await runner.api("acme", "GET", "/whatsapp/messages?contact_id=c-aisha&limit=50");
  const mine = whole.body.messages.find((m) => m.text === "Mine to Aisha");
  assert.equal(mine.agent.sub, acme.user.sub);
  const later = (ms) => new Date(Date.parse(mine.created_at) + ms).toISOString();
  await page.evaluate(async ([m, at1, at2]) => {
    const { applyLiveEvent } = await import("/actions/conversation.js");
    applyLiveEvent({ type: "message", message: { ...m, id: "01KZZZZZZZZZZZZZZZZZZZZZZ1", revision: "01KZZZZZZZZZZZZZZZZZZZZZZ1", text: "From the integration", agent: null, created_at: at1 } });
    const { agent, ...old } = m;
    applyLiveEvent({ type: "message", message: { ...old, id: "01KZZZZZZZZZZZZZZZZZZZZZZ2", revision: "01KZZZZZZZZZZZZZZZZZZZZZZ2", text: "From before", created_at: at2 } });
  }, [mine, later(1000), later(2000)]);
  await message(page, "From before").waitFor();

  const label = (text) => message(page, text).locator(".who").first();
  assert.equal(await label("Mine to Aisha").innerText(), "You");
  assert.equal(await label("Sam here").innerText(), "Sam Okafor");
  assert.equal(await label("From the integration").innerText(), "API");
  // Each voice is its own group: a name shows where the sender changes.
  const hidden = async (text) => (await label(text).getAttribute("class")).includes("visually-hidden");
  for (const text of ["Sam here", "From the integration"]) {
    assert.equal(await hidden(text), false, text);
  }
  assert.equal(await hidden("From before"), true, "no label, only words for a screen reader");
  assert.equal(await label("From before").textContent(), "Sent");
  assertClean(assert, problems);
});

test("the composer counts as the server does, and the window's countdown closes it when it ends", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  // Aisha wrote 30 minutes ago.
  assert.match(await page.locator("#window-countdown").innerText(), /^WhatsApp window closes in 23 h (29|30) min$/);
  assert.equal(await page.locator("#window-countdown").getAttribute("class"), "countdown");

  // Counted in characters as the server counts them (an emoji is one), against 1,600.
  await page.locator("#message-text").fill("😀".repeat(1600));
  assert.equal(await page.locator("#char-count").innerText(), "1,600 / 1,600");
  assert.equal(await page.locator("#send").isEnabled(), true);
  await page.locator("#message-text").press("End");
  await page.keyboard.type("!");
  assert.equal(await page.locator("#char-count").innerText(), "1,601 / 1,600 — 1 too many: shorten it to send");
  assert.equal(await page.locator("#send").isEnabled(), false);
  assert.equal(await page.locator("#message-text").getAttribute("aria-invalid"), "true");
  await page.locator("#message-text").fill("");
  assert.equal(await page.locator("#char-count").isHidden(), true);

  // Ben's window ends in a few seconds: the last hour stands out, then only templates.
  await runner.putContact("acme", "c-ben", {
    contact_id: "c-ben", name: "Ben Ong", email: "ben.ong@example.com", phone_number: BEN, whatsapp_opt_in: true,
    last_inbound_at: new Date(Date.now() - 24 * 3600 * 1000 + 4000).toISOString(),
  });
  await selectContact(page, "Ben Ong");
  assert.equal(await page.locator("#window-countdown").innerText(), "WhatsApp window closes in less than a minute");
  assert.equal(await page.locator("#window-countdown").getAttribute("class"), "countdown soon");
  await checkpoint(page, "08-window-closing");
  await page.locator("#templates").waitFor({ timeout: 8000 });
  assert.equal(await page.locator("#window-countdown").isHidden(), true);
  assert.equal(await page.locator("#window-warning").isVisible(), true);
  assertClean(assert, problems);
});

test("the emoji picker puts a chosen emoji at the caret, finds one by name, and gives the focus back", async (t) => {
  // The page ships the maintained data set as published (the package pinned for the tests).
  assert.ok(
    readFileSync(path.join(root, "web/vendor/unicode-emoji-json/data-by-group.json")).equals(
      readFileSync(path.join(root, "tests/e2e/node_modules/unicode-emoji-json/data-by-group.json")),
    ),
    "web/vendor holds unicode-emoji-json as published",
  );
  const { page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  const box = page.locator("#message-text");
  await box.fill("See you  tomorrow");
  await box.evaluate((node) => node.setSelectionRange(8, 8));
  await page.getByRole("button", { name: "Emoji" }).click();
  const picker = page.getByRole("dialog", { name: "Emoji" });
  await picker.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "emoji-search");
  await picker.getByRole("button", { name: "grinning face", exact: true }).waitFor();
  await checkpoint(page, "09-emoji-picker");
  await page.locator("#emoji-search").fill("thumbs up");
  await picker.getByRole("button", { name: "thumbs up", exact: true }).click();
  await picker.waitFor({ state: "hidden" });
  assert.equal(await box.inputValue(), "See you 👍 tomorrow");
  assert.equal(await page.evaluate(() => document.activeElement.id), "message-text");
  // Escape closes it and gives the focus back.
  await page.getByRole("button", { name: "Emoji" }).click();
  await picker.waitFor();
  await page.keyboard.press("Escape");
  await picker.waitFor({ state: "hidden" });
  assert.equal(await page.evaluate(() => document.activeElement.id), "message-text");
  await box.press("Enter");
  await message(page, "See you 👍 tomorrow", "READ").waitFor();
  assertClean(assert, problems);
});

test("older messages load when scrolling up", async (t) => {
  const { runner, page, problems } = await session(t, { page: { config: { messagesPageSize: 10 } } });
  const sent = [];
  for (let i = 1; i <= 24; i += 1) {
    const text = `History message ${String(i).padStart(2, "0")}`;
    const answer = await runner.api("acme", "POST", "/whatsapp/messages", { contact_id: "c-carla", text });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    sent.push(text);
  }
  await selectContact(page, "Carla Mendes");
  await message(page, "History message 24").waitFor();
  assert.deepEqual(await texts(page.locator("article.message .text")), sent.slice(14));

  // A tick for a message on a page not loaded yet (its callback came late, by push or poll)
  // does not show it out of place above a gap; its page brings it.
  const whole = await runner.api("acme", "GET", "/whatsapp/messages?contact_id=c-carla&limit=50");
  const ninth = whole.body.messages.find((m) => m.text === "History message 09");
  await page.evaluate(async (m) => {
    const { applyLiveEvent } = await import("/actions/conversation.js");
    applyLiveEvent({ type: "message", message: m });
  }, ninth);
  assert.deepEqual(await texts(page.locator("article.message .text")), sent.slice(14));

  const box = page.locator("#messages");
  await box.evaluate((node) => {
    node.scrollTop = 0;
  });
  await message(page, "History message 05").waitFor();
  assert.deepEqual(await texts(page.locator("article.message .text")), sent.slice(4));
  // The view stays where the reader was instead of jumping to the top.
  assert.ok(await box.evaluate((node) => node.scrollTop > 0));

  // The button is for the keyboard: a pointer near the top has already loaded the page by
  // scrolling (a click would first scroll the button into view, which loads it), so its
  // handler is exercised without that scroll.
  await page.getByRole("button", { name: "Load older messages" }).dispatchEvent("click");
  await message(page, "History message 01").waitFor();
  assert.deepEqual(await texts(page.locator("article.message .text")), sent);
  assert.equal(await page.getByRole("button", { name: "Load older messages" }).count(), 0, "no more pages");
  assertClean(assert, problems);
});

test("each conversation has an address: a link opens it, Back and Forward move between them, a reload keeps it", async (t) => {
  const { runner, page, problems } = await session(t);
  const demo = await (await fetch(`${runner.base}/local/demo`)).json();
  const org = demo.organizations.find((o) => o.whatsapp_configured);
  const contacts = await (await fetch(`${runner.base}/whatsapp/contacts?limit=100`, { headers: { Authorization: `Bearer ${org.token}` } })).json();
  const id = (name) => contacts.contacts.find((c) => c.name === name).contact_id;
  const title = () => page.locator("#conversation-title").innerText();

  await selectContact(page, "Aisha Rahman");
  assert.equal(new URL(page.url()).hash, `#/conversations/${id("Aisha Rahman")}`);
  await selectContact(page, "Ben Ong");
  assert.equal(new URL(page.url()).hash, `#/conversations/${id("Ben Ong")}`);
  await page.goBack();
  await page.locator("#conversation-title", { hasText: "Aisha Rahman" }).waitFor();
  await page.locator("#messages .empty, #messages article").first().waitFor();
  await page.goForward();
  await page.locator("#conversation-title", { hasText: "Ben Ong" }).waitFor();
  await page.reload();
  await page.locator("#conversation-title", { hasText: "Ben Ong" }).waitFor();
  assert.match(await title(), /Ben Ong/);

  // A link from the CRM's contact page, in a new tab: the conversation opens by itself.
  const linked = await page.context().newPage();
  await linked.goto(`${runner.base}/#/conversations/${id("Carla Mendes")}`);
  await linked.locator("#conversation-title", { hasText: "Carla Mendes" }).waitFor();
  await linked.close();

  // An unknown contact (or another organization's): the list, and the address cleared.
  await page.goto(`${runner.base}/#/conversations/not-a-contact`);
  await page.locator("#conversation-list li, #contact-list li").first().waitFor();
  await page.waitForFunction(() => location.hash === "");
  assert.doesNotMatch(await title(), /not-a-contact/);
  assertClean(assert, problems, [/404/]);
});
