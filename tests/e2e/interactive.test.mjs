// Buttons and lists the contact answers with a tap: built in the composer from the keyboard,
// refused while WhatsApp would refuse them, sent, shown under the bubble; the contact's tap
// (from the sandbox panel, as Twilio posts it) shown as the reply with the chosen option
// marked (the latest, if tapped twice); a canned response that carries buttons; a phone.

import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClean, checkpoint, message, selectContact, useBrowser } from "./harness.mjs";

const AISHA = "+60123456789";
const { session } = useBrowser();

/** The options under the bubble whose text is `text`, and the one marked chosen. */
async function options(page, text) {
  const bubble = message(page, text);
  const all = await bubble.locator(".option .option-title").allTextContents();
  const chosen = await bubble.locator(".option.chosen .option-title").allTextContents();
  return { all, chosen };
}

test("buttons built from the keyboard, sent, and the contact's taps marked on them", async (t) => {
  const { runner, page, problems } = await session(t);
  await runner.reply("acme", AISHA, { body: "Can you deliver this week?" });
  await selectContact(page, "Aisha Rahman");

  // The composer's text becomes the message the buttons go under.
  const composer = page.locator("#message-text");
  await composer.fill("When should we deliver?");
  await page.locator("#interactive-toggle").click();
  const builder = page.locator("#interactive-builder");
  await builder.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "interactive-body");
  assert.equal(await page.locator("#interactive-body").inputValue(), "When should we deliver?");
  assert.equal(await page.locator("#composer").isHidden(), true, "never sent with text");

  // Empty buttons: Send stays off and says why.
  assert.equal(await page.locator("#interactive-send").isDisabled(), true);
  assert.equal(await page.locator("#interactive-problem").textContent(), "Button 1 has no words.");
  // From the message, Tab reaches the first button; Shift+Tab the kind (arrows change it).
  await page.locator("#interactive-body").press("Shift+Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "interactive-type-buttons");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "interactive-button-1");
  await page.keyboard.type("Today");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "interactive-button-2");
  await page.keyboard.type("Tomorrow");
  await page.locator("#interactive-add").click();
  assert.equal(await page.evaluate(() => document.activeElement.id), "interactive-button-3");
  await page.keyboard.type("Next week");
  assert.equal(await page.locator("#interactive-add").isDisabled(), true, "at most 3 buttons");
  // `{{` would be read by Twilio as a variable: refused before it is sent.
  await page.locator("#interactive-body").fill("When {{1}}?");
  assert.match(await page.locator("#interactive-problem").textContent(), /must not contain “\{\{”/);
  await page.locator("#interactive-body").fill("When should we deliver?");
  await checkpoint(page, "interactive-01-builder");
  await page.locator("#interactive-send").click();

  const asked = message(page, "When should we deliver?");
  await message(page, "When should we deliver?", "READ").waitFor();
  await builder.waitFor({ state: "hidden" });
  assert.equal(await page.locator("#composer").isVisible(), true);
  assert.deepEqual(await options(page, "When should we deliver?"), { all: ["Today", "Tomorrow", "Next week"], chosen: [] });
  const sandbox = await (await fetch(`${runner.base}/sandbox/messages?to=${encodeURIComponent(AISHA)}`)).json();
  assert.ok(sandbox.some((m) => m.body === "When should we deliver?"), "delivered as its body");

  // The contact taps "Tomorrow" in the sandbox panel: the reply quotes the question, and
  // "Tomorrow" is marked on it.
  const taps = page.locator("#sandbox-taps");
  await taps.getByRole("button", { name: "Tomorrow" }).click();
  const reply = page.locator("article.message.inbound", { hasText: "Tapped a button" });
  await reply.waitFor();
  assert.equal(await reply.locator(".text").textContent(), "Tomorrow");
  assert.match(await reply.locator(".quote").textContent(), /When should we deliver\?/);
  await asked.locator(".option.chosen").waitFor();
  assert.deepEqual((await options(page, "When should we deliver?")).chosen, ["Tomorrow"]);
  assert.equal(await asked.locator(".option.chosen .option-chosen").textContent(), "✓ chosen");
  await checkpoint(page, "interactive-02-tapped");
  // Tapped again: the latest is the answer.
  await taps.getByRole("button", { name: "Today" }).click();
  await asked.locator(".option.chosen", { hasText: "Today" }).waitFor();
  assert.deepEqual((await options(page, "When should we deliver?")).chosen, ["Today"]);

  // Cancel gives the message back to an empty composer: nothing typed is lost.
  await page.locator("#interactive-toggle").click();
  await page.locator("#interactive-body").fill("Shall we call you?");
  await page.locator("#interactive-cancel").click();
  await builder.waitFor({ state: "hidden" });
  assert.equal(await page.locator("#message-text").inputValue(), "Shall we call you?");
  assertClean(assert, problems);
});

test("a list: its button, items and descriptions; the contact's pick marked on it", async (t) => {
  const { runner, page, problems } = await session(t);
  await runner.reply("acme", AISHA, { body: "Which slot is free?" });
  await selectContact(page, "Aisha Rahman");
  await page.locator("#interactive-toggle").click();
  await page.locator("#interactive-type-list").check();
  await page.locator("#interactive-list-button-row").waitFor();
  await page.locator("#interactive-body").fill("Pick a delivery slot");
  await page.locator("#interactive-list-button").fill("See slots");
  await page.locator("#interactive-item-1").fill("Morning");
  await page.locator("#interactive-description-1").fill("9:00 to 12:00");
  await page.locator("#interactive-item-2").fill("Afternoon");
  await page.locator("#interactive-add").click();
  await page.locator("#interactive-item-3").fill("Evening");
  await page.getByRole("button", { name: "Remove item 3" }).click();
  await page.locator("#interactive-item-3").waitFor({ state: "detached" });
  assert.equal(await page.locator("#interactive-send").textContent(), "Send list");
  await checkpoint(page, "interactive-03-list-builder");
  await page.locator("#interactive-send").click();

  const list = message(page, "Pick a delivery slot");
  await message(page, "Pick a delivery slot", "READ").waitFor();
  assert.equal(await list.locator(".list-button").textContent(), "☰ See slots");
  assert.deepEqual((await options(page, "Pick a delivery slot")).all, ["Morning", "Afternoon"]);
  assert.equal(await list.locator(".option-description").textContent(), "9:00 to 12:00");
  await page.locator("#sandbox-taps").getByRole("button", { name: "Afternoon" }).click();
  await page.locator("article.message.inbound", { hasText: "Picked from a list" }).waitFor();
  await list.locator(".option.chosen", { hasText: "Afternoon" }).waitFor();
  // What the API stored: the pick's id, as a list's.
  const stored = await runner.api("acme", "GET", "/whatsapp/messages?contact_id=c-aisha");
  const pick = stored.body.messages.find((m) => m.details && m.details.button);
  assert.deepEqual([pick.details.button.payload, pick.details.button.kind], ["2", "list"]);
  assertClean(assert, problems);
});

test("a canned response with buttons opens them ready to send; on a phone the builder fits", async (t) => {
  const { runner, page, problems } = await session(t, { page: { viewport: { width: 390, height: 844 } } });
  await runner.reply("acme", AISHA, { body: "Is my parcel coming today?" });
  const saved = await runner.api("acme", "POST", "/whatsapp/canned-responses", {
    shortcut: "confirm",
    title: "Confirm delivery",
    text: "Hi {{contact.first_name}}, shall we deliver today?",
    buttons: [{ id: "1", title: "Yes please" }, { id: "2", title: "No" }],
  });
  assert.equal(saved.status, 201, JSON.stringify(saved.body));
  // Two buttons with one id: refused with its own code, nothing saved.
  const twice = await runner.api("acme", "POST", "/whatsapp/canned-responses", {
    shortcut: "twice", title: "Twice", text: "Pick", buttons: [{ id: "1", title: "A" }, { id: "1", title: "B" }],
  });
  assert.deepEqual([twice.status, twice.body.error.code], [422, "duplicate_option_id"]);

  await selectContact(page, "Aisha Rahman");
  const composer = page.locator("#message-text");
  await composer.pressSequentially("/conf");
  await page.locator("#canned-list li[role=option]", { hasText: "Buttons: Yes please · No" }).waitFor();
  await composer.press("Enter");
  await page.locator("#interactive-builder").waitFor();
  assert.equal(await page.locator("#interactive-body").inputValue(), "Hi Aisha, shall we deliver today?");
  assert.equal(await page.locator("#interactive-button-1").inputValue(), "Yes please");
  assert.equal(await page.locator("#interactive-button-2").inputValue(), "No");
  assert.equal(await composer.inputValue(), "", "the /shortcut is gone from the composer");
  // Nothing wider than the phone.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0);
  await checkpoint(page, "interactive-04-phone-canned");
  await page.locator("#interactive-send").click();
  await message(page, "Hi Aisha, shall we deliver today?", "READ").waitFor();
  assert.deepEqual((await options(page, "Hi Aisha, shall we deliver today?")).all, ["Yes please", "No"]);
  assertClean(assert, problems, [/status of 422/]);
});
