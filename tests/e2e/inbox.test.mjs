// The inbox in a real browser: recent conversations with unread badges, moved to the top by a
// reply, cleared by reading, the tab title's total, the "N unread messages" divider, day
// separators, grouped bubbles, the "↓ N new messages" pill, and the list from the keyboard —
// with push, and with polls where push is off.

import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClean, checkpoint, contact, message, selectContact, send, texts, useBrowser } from "./harness.mjs";

const AISHA = "+60123456789";
const BEN = "+6591234567";
const CARLA = "+447911123456";

const { session } = useBrowser();

const rows = (page) => page.locator("#conversation-list li");
const row = (page, name) => page.locator("#conversation-list li", { hasText: name });
const badge = (page, name) => row(page, name).locator(".badge");

/** Waits until the recent conversations are these contacts, in this order. */
async function recentAre(page, names) {
  await page.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll("#conversation-list li .name")].map((n) => n.textContent)) === JSON.stringify(want),
    names,
  );
}

for (const push of [true, false]) {
  test(`a reply from a contact who is not open moves them to the top with a badge, and opening clears it (${push ? "push" : "polls"})`, async (t) => {
    const pageConfig = push ? { inboxSafetyMs: 600000 } : { live: false, inboxPollMs: 500 };
    const { runner, page, problems } = await session(t, { page: { config: pageConfig } });
    await runner.reply("acme", AISHA, { body: "Hi, is the shop open today?" });
    await runner.reply("acme", CARLA, { body: "My parcel has not arrived" });
    await recentAre(page, ["Carla Mendes", "Aisha Rahman"]);
    assert.equal(await badge(page, "Carla Mendes").innerText(), "1");
    assert.equal(await badge(page, "Carla Mendes").getAttribute("aria-label"), "1 unread message");
    assert.match(await row(page, "Carla Mendes").locator(".preview").innerText(), /^My parcel has not arrived$/);
    assert.equal(await row(page, "Carla Mendes").locator("time").innerText(), "now");
    await page.waitForFunction(() => document.title.startsWith("(2) "));
    // The others follow below, without those already listed.
    assert.equal(await page.locator("#contact-list li", { hasText: "Aisha Rahman" }).count(), 0);
    assert.equal(await page.locator("#contact-list li", { hasText: "Ben Ong" }).count(), 1);

    // Carla is open; Aisha writes twice more: she goes back to the top, with 3.
    await selectContact(page, "Carla Mendes");
    await badge(page, "Carla Mendes").waitFor({ state: "detached" });
    await page.waitForFunction(() => document.title.startsWith("(1) "));
    await runner.reply("acme", AISHA, { body: "Hello?" });
    await runner.reply("acme", AISHA, { body: "Anyone there?" });
    await recentAre(page, ["Aisha Rahman", "Carla Mendes"]);
    await page.waitForFunction(() => document.querySelector("#conversation-list li .badge")?.textContent === "3");
    await page.waitForFunction(() => document.title.startsWith("(3) "));
    await checkpoint(page, `15-inbox-badges-${push ? "push" : "polls"}`);

    // Reading is the organization's: another agent's page (the API) sees it too.
    await selectContact(page, "Aisha Rahman");
    await message(page, "Anyone there?").waitFor();
    await badge(page, "Aisha Rahman").waitFor({ state: "detached" });
    await page.waitForFunction(() => !document.title.startsWith("("));
    const listed = await runner.api("acme", "GET", "/whatsapp/conversations");
    assert.deepEqual(listed.body.conversations.map((c) => [c.contact.name, c.unread_count]), [["Aisha Rahman", 0], ["Carla Mendes", 0]]);
    assertClean(assert, problems);
  });
}

for (const push of [true, false]) {
  test(`the tab title counts conversations beyond the first page, and reading one of them counts it off (${push ? "push" : "polls"})`, async (t) => {
    const pageConfig = push ? { inboxSafetyMs: 600000, inboxPageSize: 1 } : { live: false, inboxPollMs: 500, inboxPageSize: 1 };
    const { runner, page, problems } = await session(t, { page: { config: pageConfig } });
    await runner.reply("acme", BEN, { body: "Question about my invoice" });
    await runner.reply("acme", AISHA, { body: "Hi" });
    await runner.reply("acme", AISHA, { body: "Are you open?" });
    await runner.reply("acme", CARLA, { body: "Where is my parcel?" });
    // A page read between the replies may have listed Aisha on top for a moment, and a row once
    // listed stays; a fresh load is what this test is about.
    await page.reload();
    // One row a page: Carla's; the title still counts all four.
    await recentAre(page, ["Carla Mendes"]);
    await page.waitForFunction(() => document.title.startsWith("(4) "));
    assert.equal(await page.locator("#inbox-more").isVisible(), true);

    // Ben is not listed in the inbox (beyond the page): opened from the contacts, he is read.
    await selectContact(page, "Ben Ong");
    await message(page, "Question about my invoice").waitFor();
    await page.waitForFunction(() => document.title.startsWith("(3) "));
    const listed = await runner.api("acme", "GET", "/whatsapp/conversations");
    assert.equal(listed.body.unread_total, 3);
    assert.deepEqual(listed.body.conversations.map((c) => [c.contact.name, c.unread_count]), [["Carla Mendes", 1], ["Aisha Rahman", 2], ["Ben Ong", 0]]);

    // The next page brings Aisha with her badge; the total does not count her twice.
    await page.locator("#inbox-more").click();
    await recentAre(page, ["Carla Mendes", "Aisha Rahman"]);
    assert.equal(await badge(page, "Aisha Rahman").innerText(), "2");
    await runner.reply("acme", AISHA, { body: "Hello?" });
    await page.waitForFunction(() => document.querySelector("#conversation-list li[data-id='c-aisha'] .badge")?.textContent === "3");
    await page.waitForFunction(() => document.title.startsWith("(4) "));
    assertClean(assert, problems);
  });
}

test("without push, a refresh of the list shows how a contact stands now and drops one the CRM deleted", async (t) => {
  const { runner, page, problems } = await session(t, { page: { config: { live: false, inboxPollMs: 500 } } });
  await runner.reply("acme", AISHA, { body: "Hi there" });
  await runner.reply("acme", CARLA, { body: "Please stop writing" });
  await recentAre(page, ["Carla Mendes", "Aisha Rahman"]);
  await page.waitForFunction(() => document.title.startsWith("(2) "));
  // The CRM records Carla's opt-out (no message: her conversation's row is unchanged).
  await runner.putContact("acme", "c-carla", { name: "Carla Mendes", email: "carla@example.com", phone_number: CARLA, whatsapp_opt_in: false });
  await row(page, "Carla Mendes").locator(".dot").waitFor();
  assert.match(await row(page, "Carla Mendes").locator(".dot").getAttribute("aria-label"), /^Cannot be messaged: .+/);
  // Then deletes Aisha: her row goes, and her unread message leaves the total.
  await runner.deleteContact("acme", "c-aisha");
  await recentAre(page, ["Carla Mendes"]);
  await page.waitForFunction(() => document.title.startsWith("(1) "));
  assertClean(assert, problems);
});

test("opening a conversation shows where the unread messages begin, by day, in groups", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Ben Ong");
  await send(page, "Your order is ready");
  await message(page, "Your order is ready", "READ").waitFor();
  await send(page, "Pick it up any time");
  await message(page, "Pick it up any time", "READ").waitFor();
  await selectContact(page, "Aisha Rahman");
  for (const body of ["Great, thanks", "I will come at 5", "Is that fine?"]) {
    await runner.reply("acme", BEN, { body });
  }
  await page.waitForFunction(() => document.querySelector("#conversation-list li[data-id='c-ben'] .badge")?.textContent === "3");

  await selectContact(page, "Ben Ong");
  await message(page, "Is that fine?").waitFor();
  const divider = page.locator("#messages .unread-divider");
  assert.equal(await divider.innerText(), "3 unread messages");
  // The divider sits right before the first unread message.
  const next = await divider.evaluate((node) => node.nextElementSibling.querySelector(".text").textContent);
  assert.equal(next, "Great, thanks");
  assert.deepEqual(await texts(page.locator("#messages .day")), ["Today"]);
  // Consecutive bubbles of one side are one group: the name once.
  const who = await page.locator("#messages article.inbound .who:not(.visually-hidden)").count();
  assert.equal(who, 1);
  assert.equal(await page.locator("#messages article.outbound.grouped").count(), 1);
  assert.equal(await page.locator("#messages article.inbound.grouped").count(), 2);
  await checkpoint(page, "16-unread-divider");
  assertClean(assert, problems);
});

test("a message arriving while scrolled up shows a pill that brings it into view and reads it", async (t) => {
  const { runner, page, problems } = await session(t);
  for (let i = 1; i <= 30; i += 1) {
    await runner.api("acme", "POST", "/whatsapp/messages", { contact_id: "c-carla", text: `Update ${i}` });
  }
  await selectContact(page, "Carla Mendes");
  await message(page, "Update 30").waitFor();
  await page.locator("#messages").evaluate((node) => {
    node.scrollTop = 0;
  });
  await runner.reply("acme", CARLA, { body: "Sorry, which update?" });
  await runner.reply("acme", CARLA, { body: "The last one?" });
  const pill = page.getByRole("button", { name: /new messages?$/ });
  await page.waitForFunction(() => document.querySelector("#new-messages")?.textContent === "↓ 2 new messages");
  // Out of view, nothing is read yet.
  await page.waitForFunction(() => document.querySelector("#conversation-list li[data-id='c-carla'] .badge")?.textContent === "2");
  await checkpoint(page, "17-new-messages-pill");
  await pill.click();
  await pill.waitFor({ state: "hidden" });
  assert.ok(await page.locator("#messages").evaluate((node) => node.scrollHeight - node.scrollTop - node.clientHeight < 40));
  await badge(page, "Carla Mendes").waitFor({ state: "detached" });
  assertClean(assert, problems);
});

test("the recent conversations work from the keyboard", async (t) => {
  const { runner, page, problems } = await session(t);
  await runner.reply("acme", AISHA, { body: "First" });
  await runner.reply("acme", BEN, { body: "Second" });
  await recentAre(page, ["Ben Ong", "Aisha Rahman"]);
  await rows(page).first().focus();
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.evaluate(() => document.activeElement.textContent.includes("Aisha Rahman")), true);
  await page.keyboard.press("Enter");
  await page.locator("#conversation-title", { hasText: "Aisha Rahman" }).waitFor();
  assert.equal(await row(page, "Aisha Rahman").getAttribute("aria-selected"), "true");
  // Typing searches as before: the recent list steps aside.
  await page.locator("#contact-search").fill("ben");
  await page.locator("#inbox").waitFor({ state: "hidden" });
  await contact(page, "Ben Ong").waitFor();
  assertClean(assert, problems);
});

for (const push of [true, false]) {
  test(`a message that fails while another conversation is open raises a notice naming the contact and marks its row until opened (${push ? "push" : "polls"})`, async (t) => {
    const pageConfig = push ? { inboxSafetyMs: 600000 } : { live: false, inboxPollMs: 500 };
    const { runner, page, problems } = await session(t, { page: { config: pageConfig } });
    await runner.reply("acme", AISHA, { body: "Please send the invoice" });
    await recentAre(page, ["Aisha Rahman"]);
    // A failure from before the page was open is what the row shows, not news.
    assert.equal(await page.locator(".failure-notice").count(), 0);
    await selectContact(page, "Ben Ong");

    // Another agent's send to Aisha fails (Twilio refuses it) while Ben is open.
    await runner.fault({ mode: "error_code", code: 63003, to: AISHA, times: 1 });
    const sent = await runner.api("acme", "POST", "/whatsapp/messages", { contact_id: "c-aisha", text: "Here is the invoice" });
    assert.equal(sent.status, 202);
    const notice = page.locator(".failure-notice", { hasText: "Aisha Rahman" });
    await notice.waitFor();
    assert.match(await notice.locator(".what").innerText(), /^A message to Aisha Rahman failed: Failed to send via WhatsApp: .*63003/);
    assert.equal(await row(page, "Aisha Rahman").getAttribute("data-failed"), "true");
    assert.equal(await row(page, "Aisha Rahman").locator(".failed-mark").getAttribute("aria-label"), "A message failed");
    assert.equal(await page.locator("#conversation-title").innerText(), "Ben Ong", "nothing moved the agent");
    await checkpoint(page, `16-failure-notice-${push ? "push" : "polls"}`);

    // Dismissed, the mark stays; opening the conversation clears it.
    await notice.getByRole("button", { name: "Dismiss the notice about Aisha Rahman" }).click();
    await notice.waitFor({ state: "detached" });
    assert.equal(await row(page, "Aisha Rahman").getAttribute("data-failed"), "true");
    await selectContact(page, "Aisha Rahman");
    await message(page, "Here is the invoice", "FAILED").waitFor();
    await page.waitForFunction(() => document.querySelector("#conversation-list li[data-failed='true']") === null);

    // Told once: leaving and coming back does not raise it again.
    await selectContact(page, "Ben Ong");
    await page.waitForTimeout(push ? 300 : 1200);
    assert.equal(await page.locator(".failure-notice").count(), 0);
    assert.equal(await row(page, "Aisha Rahman").getAttribute("data-failed"), "false");
    assertClean(assert, problems, [/status of 4\d\d|Failed to send/]);
  });
}

test("only what was on screen is read; photos keep their box so a pinned view stays at the newest; the page stays the viewport's height", async (t) => {
  const { runner, page, problems } = await session(t, { page: { viewport: { width: 1280, height: 800 } } });
  // Photos are held until the test lets them load.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const hold = async (route) => {
    await held;
    await route.continue();
  };
  await page.route("**/local/media/**", hold);
  await runner.reply("acme", CARLA, { body: "Photos of the damage" });
  for (let i = 0; i < 4; i += 1) await runner.reply("acme", CARLA, { body: "", media: "image" });
  await runner.reply("acme", CARLA, { body: "Newest words" });
  await page.waitForFunction(() => document.querySelector("#conversation-list li .badge")?.textContent === "6");
  // The worker has copied the photos (a placeholder keeps the same box meanwhile).
  for (let tries = 0; ; tries += 1) {
    const listed = (await runner.api("acme", "GET", "/whatsapp/messages?contact_id=c-carla")).body.messages;
    if (listed.filter((m) => m.attachments.some((a) => a.url)).length === 4) break;
    assert.ok(tries < 100, "the photos were copied");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  await selectContact(page, "Carla Mendes");
  await message(page, "Newest words").waitFor({ state: "attached" });
  await page.locator("#messages img").nth(3).waitFor({ state: "attached" });
  // Opened at the unread divider: the newest message is below the fold and is not read.
  const box = page.locator("#messages");
  assert.ok(await box.evaluate((node) => node.scrollHeight > node.clientHeight + 100), "the conversation is longer than its pane");
  const inView = await page.locator("#messages .unread-divider").evaluate((node) => {
    const pane = node.closest("#messages").getBoundingClientRect();
    const r = node.getBoundingClientRect();
    return r.top >= pane.top && r.bottom <= pane.bottom;
  });
  assert.ok(inView, "the unread divider is in view");
  const heightsBefore = await page.locator("#messages article.message").evaluateAll((nodes) => nodes.map((n) => n.getBoundingClientRect().height));
  await page.waitForTimeout(800);
  const row = async () => (await runner.api("acme", "GET", "/whatsapp/conversations")).body.conversations.find((c) => c.contact_id === "c-carla");
  const newest = (await runner.api("acme", "GET", "/whatsapp/messages?contact_id=c-carla")).body.messages.find((m) => m.text === "Newest words");
  const before = await row();
  assert.ok(before.unread_count >= 1, `the newest is unread (${before.unread_count})`);
  assert.ok(!before.last_read_message_id || before.last_read_message_id < newest.id);

  // The photos load: no bubble changes its size.
  release();
  await page.waitForFunction(() => [...document.querySelectorAll("#messages img")].every((img) => img.complete && img.naturalWidth > 0));
  const heightsAfter = await page.locator("#messages article.message").evaluateAll((nodes) => nodes.map((n) => n.getBoundingClientRect().height));
  assert.deepEqual(heightsAfter, heightsBefore);

  // Scrolled to the newest: now it is read.
  await box.evaluate((node) => {
    node.scrollTop = node.scrollHeight;
  });
  await page.waitForFunction(() => !document.querySelector("#conversation-list li[data-id='c-carla'] .badge"));
  assert.equal((await row()).unread_count, 0);

  // Pinned at the bottom, a photo arriving stays in view once it loads.
  await runner.reply("acme", CARLA, { body: "", media: "image" });
  await page.waitForFunction(() => document.querySelectorAll("#messages img").length === 5);
  await page.waitForFunction(() => [...document.querySelectorAll("#messages img")].every((img) => img.complete && img.naturalWidth > 0));
  await page.waitForTimeout(200);
  assert.ok(await box.evaluate((node) => node.scrollHeight - node.scrollTop - node.clientHeight < 40), "still at the newest");

  // However long the conversation, the page is the viewport's height: the pane scrolls.
  const app = await page.evaluate(() => ({ bottom: document.querySelector(".app").getBoundingClientRect().bottom, height: innerHeight }));
  assert.ok(app.bottom <= app.height, `the page ends at the viewport (${app.bottom} > ${app.height})`);
  await checkpoint(page, "17-photos-pinned");
  assertClean(assert, problems);
});

test("with alerts on, a message while the tab is hidden chimes and shows a notification that opens its conversation", async (t) => {
  const { runner, page, problems } = await session(t, { page: { config: { inboxSafetyMs: 600000 } } });
  await page.context().grantPermissions(["notifications"]);
  // What the browser shows and plays, recorded.
  await page.evaluate(() => {
    window.shown = [];
    window.tones = 0;
    const Real = window.Notification;
    window.Notification = class extends Real {
      constructor(title, options) {
        super(title, options);
        window.shown.push(this);
      }
    };
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...args) {
      window.tones += 1;
      return start.apply(this, args);
    };
  });
  const setHidden = (hidden) =>
    page.evaluate((value) => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => value });
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);
  const toggle = page.getByRole("button", { name: "Alerts" });
  assert.equal(await toggle.getAttribute("aria-pressed"), "false", "off until the agent asks");
  await runner.reply("acme", AISHA, { body: "Nobody is told of this one" });
  await recentAre(page, ["Aisha Rahman"]);

  await toggle.click();
  assert.equal(await toggle.getAttribute("aria-pressed"), "true");
  // Visible: the badge is enough.
  await runner.reply("acme", AISHA, { body: "Seen on screen" });
  await page.waitForFunction(() => document.querySelector("#conversation-list li .preview")?.textContent === "Seen on screen");
  assert.equal(await page.evaluate(() => window.shown.length + window.tones), 0);

  await setHidden(true);
  await runner.reply("acme", CARLA, { body: "Is the parcel coming today?" });
  await page.waitForFunction(() => window.shown.length === 1);
  assert.deepEqual(await page.evaluate(() => [window.shown[0].title, window.shown[0].body, window.tones]), ["WhatsApp · Carla Mendes", "Is the parcel coming today?", 1]);
  await setHidden(false);
  await page.evaluate(() => window.shown[0].onclick());
  await page.locator("#conversation-title", { hasText: "Carla Mendes" }).waitFor();

  // The choice is the agent's, remembered by this browser.
  await page.reload();
  await page.locator("#conversation-list li, #contact-list li").first().waitFor();
  assert.equal(await page.getByRole("button", { name: "Alerts" }).getAttribute("aria-pressed"), "true");
  assertClean(assert, problems);
});
