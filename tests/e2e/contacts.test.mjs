// The rest of the screen: channel picker, the contact selector, organizations, keyboard and
// narrow windows.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { assertClean, checkpoint, contact, message, openPage, root, selectContact, send, startRunner, texts, useBrowser } from "./harness.mjs";

const ELIGIBLE = ["Aisha Rahman", "Ben Ong", "Carla Mendes", "Dev Patel"];
const NOT_CONFIGURED = "WhatsApp is not configured for this organization.";

const { session, browser } = useBrowser();

const names = (page) => texts(page.locator("#contact-list li > span:first-child"));

/** Waits until the list shows exactly `expected` (the search is debounced). */
async function listShows(page, expected) {
  await page.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll("#contact-list li > span:first-child")].map((n) => n.textContent)) === JSON.stringify(want),
    expected,
  );
}

test("only eligible contacts are listed, and search narrows by name, email or phone", async (t) => {
  // The shipped web/config.js, untouched.
  const { page, problems } = await session(t, { page: { config: null } });
  assert.deepEqual(await names(page), ELIGIBLE, "no opted-out, blocked or number-less contacts");
  assert.equal(await page.locator("#conversation-title").textContent(), "Select a contact");
  assert.equal(await page.locator("#message-text").isDisabled(), true, "nothing to write to yet");

  const search = page.getByLabel("Search contacts by name, email or phone");
  await search.fill("ben");
  await listShows(page, ["Ben Ong"]);
  await checkpoint(page, "10-search");
  await search.fill("carla@");
  await listShows(page, ["Carla Mendes"]);
  await search.fill("+1415");
  await listShows(page, ["Dev Patel"]);
  await search.fill("Elena");
  await listShows(page, []);
  const empty = page.locator("#contacts-empty");
  await empty.waitFor();
  assert.equal(await empty.textContent(), "No contacts with WhatsApp opt-in found.");
  await search.fill("");
  await listShows(page, ELIGIBLE);
  assert.equal(await empty.isHidden(), true);

  // Exactly one selected at a time.
  await selectContact(page, "Ben Ong");
  await selectContact(page, "Carla Mendes");
  assert.deepEqual(await texts(page.locator('#contact-list li[aria-selected="true"] > span:first-child')), ["Carla Mendes"]);
  assertClean(assert, problems);
});

test("long contact lists page with Load more", async (t) => {
  const seed = JSON.parse(readFileSync(path.join(root, "local/seed.json"), "utf8"));
  const acme = seed.organizations.find((o) => o.organization_id === "acme");
  for (let i = 1; i <= 30; i += 1) {
    const n = String(i).padStart(2, "0");
    acme.contacts.push({
      contact_id: `c-bulk-${n}`, name: `Bulk Contact ${n}`, email: `bulk${n}@example.com`,
      phone_number: `+601234500${n}`, whatsapp_opt_in: true,
    });
  }
  acme.contacts.push({
    contact_id: "c-markup", name: "<b>Bold</b> & <i>Co</i>", email: "markup@example.com",
    phone_number: "+60123450099", whatsapp_opt_in: true,
  });
  const { page, problems } = await session(t, { runner: { seed } });
  assert.equal(await page.locator("#contact-list li").count(), 25);
  const more = page.getByRole("button", { name: "Load more" });
  await more.click();
  await page.waitForFunction(() => document.querySelectorAll("#contact-list li").length === 35);
  assert.equal(await more.isHidden(), true, "no further page");
  const all = await names(page);
  assert.equal(new Set(all).size, 35, "no contact twice");
  assert.ok(all.includes("<b>Bold</b> & <i>Co</i>"), "a name is text, never markup");
  assert.equal(await page.locator("#contact-list b, #contact-list i").count(), 0);
  assertClean(assert, problems);
});

test("the organization without Twilio shows WhatsApp disabled with its reason", async (t) => {
  const { runner, page, problems } = await session(t);
  // An Acme conversation open, with a reply in it, when the user switches: nothing of it is
  // asked of the other organization (no read marker for it: that was a 404).
  await runner.reply("acme", "+60123456789", { body: "Still there?" });
  await selectContact(page, "Aisha Rahman");
  await message(page, "Still there?").waitFor();
  const user = page.getByLabel("Demo user");
  assert.deepEqual(
    await user.locator("option").evaluateAll((options) => options.map((o) => o.textContent)),
    [
      "Alex Rivera <agent@acme.example> — Acme Trading (WhatsApp configured)",
      "Sam Okafor <sam@acme.example> — Acme Trading (WhatsApp configured)",
      "Gia Bui <agent@globex.example> — Globex (WhatsApp not configured)",
    ],
  );
  await user.selectOption({ label: "Gia Bui <agent@globex.example> — Globex (WhatsApp not configured)" });
  await page.locator("#channel-status", { hasText: NOT_CONFIGURED }).waitFor();
  assert.equal(await page.locator("#channel-status").textContent(), NOT_CONFIGURED);
  assert.equal(await page.locator("#tab-whatsapp").isDisabled(), true);
  assert.equal(await page.locator("#tab-whatsapp").getAttribute("title"), NOT_CONFIGURED);
  // Globex's own contacts, never Acme's.
  await listShows(page, ["Hana Suzuki"]);
  await selectContact(page, "Hana Suzuki");
  assert.equal(await page.locator("#message-text").isDisabled(), true);
  assert.equal(await page.locator("#send").isDisabled(), true);
  await checkpoint(page, "11-whatsapp-not-configured");

  // Back to Acme: enabled again, Acme's contacts (Aisha among the recent conversations).
  await user.selectOption({ label: "Alex Rivera <agent@acme.example> — Acme Trading (WhatsApp configured)" });
  await listShows(page, ELIGIBLE.filter((name) => name !== "Aisha Rahman"));
  await page.locator("#conversation-list li", { hasText: "Aisha Rahman" }).waitFor();
  await page.waitForFunction(() => !document.querySelector("#tab-whatsapp").disabled);
  assert.equal(await page.locator("#channel-status").textContent(), "");
  assert.equal(await page.locator("#tab-whatsapp").getAttribute("title"), "Sending from +14155238886");
  assertClean(assert, problems);
});

test("an organization on a Messaging Service says which numbers it sends from, and sends through it", async (t) => {
  const seed = JSON.parse(readFileSync(path.join(root, "local/seed.json"), "utf8"));
  const acme = seed.organizations.find((o) => o.organization_id === "acme");
  acme.twilio.twilio_messaging_service_sid = "MG00000000000000000000000000000a01";
  delete acme.twilio.twilio_whatsapp_from;
  acme.messaging_service_senders = ["+14155238886", "+447911123456"];
  const { runner, page, problems } = await session(t, { runner: { seed } });
  await page.waitForFunction(
    () => document.querySelector("#tab-whatsapp").title === "Sending from +14155238886, +447911123456 (Messaging Service)",
  );
  await selectContact(page, "Aisha Rahman");
  await send(page, "Sent through the service");
  await message(page, "Sent through the service", "READ").waitFor();
  const listed = await (await fetch(`${runner.base}/sandbox/messages`)).json();
  const atTwilio = listed.filter((m) => m.body === "Sent through the service");
  assert.equal(atTwilio.length, 1);
  assert.equal(atTwilio[0].messaging_service_sid, "MG00000000000000000000000000000a01");
  assertClean(assert, problems);
});

test("the channel picker switches between WhatsApp and the placeholder channels", async (t) => {
  const { page, problems } = await session(t);
  const whatsapp = page.getByRole("tab", { name: "WhatsApp" });
  assert.equal(await whatsapp.getAttribute("aria-selected"), "true");
  await page.getByRole("tab", { name: "Email" }).click();
  assert.equal(await page.locator("#whatsapp").isHidden(), true);
  assert.equal(await page.locator("#other-channel").isVisible(), true);
  assert.equal(await page.getByRole("tab", { name: "Email" }).getAttribute("aria-selected"), "true");
  assert.equal(await whatsapp.getAttribute("aria-selected"), "false");
  await whatsapp.click();
  assert.equal(await page.locator("#whatsapp").isVisible(), true);
  assert.equal(await page.locator("#other-channel").isHidden(), true);
  assertClean(assert, problems);
});

test("the whole flow works from the keyboard with a visible focus", async (t) => {
  const { page, problems } = await session(t);
  await page.getByLabel("Search contacts by name, email or phone").focus();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "contact-c-aisha");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none", "the focused contact is visibly marked");
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.evaluate(() => document.activeElement.id), "contact-c-ben");
  await page.keyboard.press("Enter");
  await page.locator("#conversation-title", { hasText: "Ben Ong" }).waitFor();
  assert.equal(await page.locator("#contact-c-ben").getAttribute("aria-selected"), "true");
  // Opening a conversation puts the focus in its composer.
  await page.waitForFunction(() => document.activeElement.id === "message-text");
  // Enter with nothing typed does nothing, and says nothing.
  await page.keyboard.press("Enter");
  await page.waitForTimeout(300);
  assert.equal(await page.locator("#toasts .toast").count(), 0);

  // The emoji button, then Attach, which shows its focus (the file input hides behind it).
  await page.keyboard.press("Shift+Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "emoji-toggle");
  await page.keyboard.press("Shift+Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "file-input");
  assert.notEqual(await page.locator("#attach").evaluate((n) => getComputedStyle(n).outlineStyle), "none");
  // Buttons and lists next (interactive.test.mjs builds them from the keyboard); then the
  // template picker, which takes the focus, closes on Escape and gives it back.
  await page.waitForFunction(() => !document.getElementById("template-toggle").disabled);
  await page.keyboard.press("Shift+Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "interactive-toggle");
  await page.keyboard.press("Shift+Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "template-toggle");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement.id === "template-search");
  await page.keyboard.press("Escape");
  await page.locator("#templates").waitFor({ state: "hidden" });
  assert.equal(await page.evaluate(() => document.activeElement.id), "template-toggle");

  await page.locator("#message-text").focus();
  await page.keyboard.type("Typed without a mouse");
  await page.keyboard.press("Enter");
  await message(page, "Typed without a mouse", "READ").waitFor();
  await checkpoint(page, "12-keyboard");

  // `/` goes to the search; the arrow into its results; Enter opens the first; Escape empties it.
  await page.locator("#messages").focus();
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement.id), "contact-search");
  await page.keyboard.type("carla");
  await page.locator("#contact-list li", { hasText: "Carla Mendes" }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll("#contact-list li").length === 1);
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.evaluate(() => document.activeElement.id), "contact-c-carla");
  await page.locator("#contact-search").focus();
  await page.keyboard.press("Enter");
  await page.locator("#conversation-title", { hasText: "Carla Mendes" }).waitFor();
  await page.locator("#contact-search").focus();
  await page.keyboard.press("Escape");
  assert.equal(await page.locator("#contact-search").inputValue(), "");
  await page.locator("#conversation-list li", { hasText: "Ben Ong" }).waitFor();
  await page.locator("#contact-list li", { hasText: "Aisha Rahman" }).waitFor();

  // `?` lists the shortcuts in a dialog that takes the focus and gives it back on Escape.
  await page.locator("#messages").focus();
  await page.keyboard.press("?");
  const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await help.waitFor();
  assert.ok(await help.evaluate((node) => node.contains(document.activeElement)), "the dialog has the focus");
  assert.match(await help.innerText(), /Search contacts/);
  await checkpoint(page, "14-shortcuts");
  await page.keyboard.press("Escape");
  await help.waitFor({ state: "hidden" });
  assert.equal(await page.evaluate(() => document.activeElement.id), "messages");
  // Typed in the message box, `?` is text.
  await page.locator("#message-text").focus();
  await page.keyboard.type("ok?");
  assert.equal(await help.isVisible(), false);
  assert.equal(await page.locator("#message-text").inputValue(), "ok?");

  // Every control a person uses has a name.
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("button, input, select, textarea")]
      .filter((node) => !node.closest("[hidden]"))
      .filter((node) => !(node.labels && node.labels.length) && !node.getAttribute("aria-label") && !node.textContent.trim())
      .map((node) => node.id || node.outerHTML),
  );
  assert.deepEqual(unlabelled, []);
  assertClean(assert, problems);
});

for (const viewport of [{ width: 390, height: 844 }, { width: 390, height: 450 }]) {
  test(`on a phone (${viewport.width}×${viewport.height}) one pane shows at a time, the composer on screen, with a way back`, async (t) => {
    const { page, problems } = await session(t, { page: { viewport } });
    const onScreen = async (selector) => {
      const b = await page.locator(selector).boundingBox();
      return b !== null && b.y >= 0 && b.y + b.height <= viewport.height && b.x >= 0 && b.x + b.width <= viewport.width;
    };
    assert.equal(await page.locator(".conversation").isHidden(), true, "the list alone");
    await selectContact(page, "Carla Mendes");
    assert.equal(await page.locator(".contacts").isHidden(), true, "the conversation alone");
    for (const selector of ["#message-text", "#send", "#attach", "#back-to-list", "#conversation-title"]) {
      assert.ok(await onScreen(selector), `${selector} is on screen`);
    }
    await send(page, "Sent from a phone");
    await message(page, "Sent from a phone", "READ").waitFor();
    assert.ok(await onScreen("#message-text"), "the composer stays on screen after a send");
    // One scroll area per pane: the page itself neither scrolls nor is wider than the screen.
    const page_ = await page.evaluate(() => ({ right: document.documentElement.scrollWidth, bottom: document.querySelector(".app").getBoundingClientRect().bottom }));
    assert.ok(page_.right <= viewport.width, `no horizontal scrolling (${page_.right}px wide)`);
    assert.ok(page_.bottom <= viewport.height, `the page ends at the screen (${page_.bottom}px)`);
    await checkpoint(page, `13-phone-${viewport.height}`);

    await page.getByRole("button", { name: "Back to the conversations" }).click();
    await page.locator(".contacts").waitFor();
    assert.equal(await page.locator(".conversation").isHidden(), true);
    assert.equal(new URL(page.url()).hash, "");
    // The phone's Back returns to the conversation.
    await page.goBack();
    await page.locator("#conversation-title", { hasText: "Carla Mendes" }).waitFor();
    assert.equal(await page.locator(".contacts").isHidden(), true);
    assertClean(assert, problems);
  });
}

test("deployed with token: session, the page uses the CRM's sign-in and shows no demo tools", async (t) => {
  const runner = await startRunner();
  t.after(() => runner.stop());
  const config = { token: "session", tokenKey: "crm.id_token" };

  const signedIn = await openPage(browser(), runner, { config, sessionToken: runner.token("acme") });
  t.after(() => signedIn.context.close());
  const { page } = signedIn;
  assert.deepEqual(await names(page), ELIGIBLE);
  assert.equal(await page.locator("#demo-users").isHidden(), true);
  assert.equal(await page.locator("#sandbox-panel").count(), 0, "the sandbox panel is not even loaded");
  await selectContact(page, "Aisha Rahman");
  await send(page, "Sent with the CRM's own token");
  await message(page, "Sent with the CRM's own token", "READ").waitFor();
  assertClean(assert, signedIn.problems);

  const signedOut = await openPage(browser(), runner, { config, ready: false });
  t.after(() => signedOut.context.close());
  await signedOut.page.locator("#channel-status", { hasText: "Sign in to the CRM to use WhatsApp." }).waitFor();
  assert.equal(await signedOut.page.locator("#contact-list li").count(), 0);
  assertClean(assert, signedOut.problems);

  const expired = await openPage(browser(), runner, { config, sessionToken: "expired.or.forged", ready: false });
  t.after(() => expired.context.close());
  const signIn = "Your sign-in has expired. Sign in to the CRM again.";
  await expired.page.locator("#channel-status", { hasText: signIn }).waitFor();
  await expired.page.locator(".toast", { hasText: signIn }).waitFor();
  assertClean(assert, expired.problems, [/status of 401/]);
});

test("with real Twilio the runner serves no demo users: its printed sign-in link signs in and leaves no token in the address bar", async (t) => {
  // Messages would go to real Twilio (unreachable here); the test only signs in and reads.
  const runner = await startRunner({ env: { TWILIO_API_BASE_URL: "https://api.twilio.com", TWILIO_TIMEOUT_SECONDS: "1" } });
  t.after(() => runner.stop());
  assert.equal((await fetch(`${runner.base}/local/demo`)).status, 404);
  assert.equal((await fetch(`${runner.base}/local/sandbox.js`)).status, 404);
  assert.match(runner.log(), new RegExp(`sign in: ${runner.base}/#token=${runner.token("acme")}`));

  const { page, context, problems } = await openPage(browser(), runner, { path: `/#token=${runner.token("acme")}` });
  t.after(() => context.close());
  assert.deepEqual(await names(page), ELIGIBLE);
  assert.equal(new URL(page.url()).hash, "", "the token left the address bar");
  assert.equal(await page.locator("#demo-users").isHidden(), true);
  assert.equal(await page.locator("#sandbox-panel").count(), 0);
  // Chromium logs the refused /local/demo; templates cannot reach Twilio from here.
  assertClean(assert, problems, [/status of 404/, /status of 503/]);
});
