// Agents together, in two pages of one runner (Alex and Sam of Acme): who is here and who is
// writing, a reply caught before it crosses another's, notes only agents see.

import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClean, checkpoint, message, openPage, selectContact, send, useBrowser } from "./harness.mjs";

const AISHA = "+60123456789";
const { session, browser } = useBrowser();

/** Sam's page, beside Alex's: the sandbox panel's link to the organization's second agent. */
async function samPage(t, runner, alexPage) {
  const href = await alexPage.locator("#sandbox-agents a", { hasText: "Sam Okafor" }).getAttribute("href");
  assert.match(href, /^\/\?agent=demo-user-acme-2#\/conversations\/c-aisha$/);
  const opened = await openPage(browser(), runner, { path: href });
  t.after(() => opened.context.close());
  await opened.page.locator("#conversation-title", { hasText: "Aisha Rahman" }).waitFor();
  return opened;
}

/** What reached the contact: the sandbox's record of every message sent through it. */
async function onPhone(runner) {
  const sandbox = await (await fetch(`${runner.base}/sandbox/messages`)).json();
  return sandbox.filter((m) => m.direction === "outbound-api" && m.to === `whatsapp:${AISHA}`).map((m) => m.body);
}

test("two agents see each other in a conversation, writing shows, and a tab that died stops showing", async (t) => {
  const { runner, page: alex, problems } = await session(t, { runner: { env: { PRESENCE_SECONDS: "10" } } });
  await runner.reply("acme", AISHA, { body: "Is anyone there?" });
  await selectContact(alex, "Aisha Rahman");
  const { page: sam, problems: samProblems } = await samPage(t, runner, alex);

  // Each sees the other within 2 s: Sam from the conversation's answer, Alex by push.
  const presence = (page) => page.locator("#conversation-presence");
  await presence(sam).filter({ hasText: "Alex Rivera is viewing" }).waitFor({ timeout: 2000 });
  await presence(alex).filter({ hasText: "Sam Okafor is viewing" }).waitFor({ timeout: 2000 });
  const row = alex.locator('#conversation-list li[data-id="c-aisha"] .presence-mark');
  assert.equal(await row.getAttribute("aria-label"), "Sam Okafor is viewing");

  // Sam writes: Alex reads "writing…"; 5 s after the last key it is viewing again.
  await sam.locator("#message-text").pressSequentially("Let me check that for");
  await presence(alex).filter({ hasText: "Sam Okafor is writing…" }).waitFor({ timeout: 2000 });
  assert.equal(await row.getAttribute("aria-label"), "Sam Okafor is writing");
  await checkpoint(alex, "team-01-colleague-writing");
  await presence(alex).filter({ hasText: "Sam Okafor is viewing" }).waitFor({ timeout: 8000 });

  // Renewed while it holds (every 4 s of a 10 s lifetime): still there after the lifetime.
  await alex.waitForTimeout(11000);
  assert.equal(await presence(alex).innerText(), "Sam Okafor is viewing");

  // Sam's tab dies (its network gone: a laptop closed, a phone in a tunnel): no "left" ever
  // arrives, the renewals stop; Alex stops showing Sam once it expires, not before.
  await sam.context().setOffline(true);
  await alex.waitForTimeout(1000);
  assert.equal(await presence(alex).innerText(), "Sam Okafor is viewing", "until it expires");
  await presence(alex).waitFor({ state: "hidden", timeout: 12000 });
  assert.equal(await row.count(), 0);

  assertClean(assert, problems);
  // Offline, Sam's page failed its renewals and polls (Chromium logs each).
  assertClean(assert, samProblems, [/ERR_INTERNET_DISCONNECTED/]);
});

test("a reply that crosses another agent's is caught; Send anyway sends it once; a note reaches agents only", async (t) => {
  const { runner, page: alex, problems } = await session(t);
  await runner.reply("acme", AISHA, { body: "Where is my parcel?" });
  await selectContact(alex, "Aisha Rahman");
  const { page: sam, problems: samProblems } = await samPage(t, runner, alex);
  const acme = runner.demo.organizations.find((o) => o.organization_id === "acme");

  // Alex answers while Sam's send is on its way: Sam's page had not seen it.
  const keys = [];
  let crossed = false;
  await sam.route("**/whatsapp/messages", async (route) => {
    const request = route.request();
    if (request.method() === "POST") {
      keys.push([request.headers()["idempotency-key"], JSON.parse(request.postData()).seen_up_to || null]);
      if (!crossed) {
        crossed = true;
        const answer = await fetch(`${runner.base}/whatsapp/messages`, {
          method: "POST",
          headers: { Authorization: `Bearer ${acme.token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ contact_id: "c-aisha", text: "Alex got there first" }),
        });
        assert.equal(answer.status, 202);
      }
    }
    await route.continue();
  });
  await send(sam, "Sam's answer");
  const bar = sam.locator("#collision");
  await bar.waitFor();
  assert.match(await bar.innerText(), /Alex Rivera replied meanwhile/);
  await message(sam, "Alex got there first").waitFor();
  assert.equal(await sam.locator("#message-text").inputValue(), "Sam's answer", "the composition stays");
  assert.equal(await sam.evaluate(() => document.activeElement.id), "collision-send");
  await checkpoint(sam, "team-02-collision");
  assert.equal(await message(sam, "Sam's answer").count(), 0, "nothing sent yet");
  await sam.locator("#collision-send").click();
  await message(sam, "Sam's answer", "SENT").waitFor();
  await bar.waitFor({ state: "hidden" });
  // Each inbox row says whose the newest message is.
  const rowPreview = (page) => page.locator('#conversation-list li[data-id="c-aisha"] .preview');
  await rowPreview(alex).filter({ hasText: "Sam Okafor: Sam's answer" }).waitFor();
  await rowPreview(sam).filter({ hasText: "You: Sam's answer" }).waitFor();
  assert.equal(keys.length, 2);
  assert.equal(keys[0][0], keys[1][0], "Send anyway is the same send: the same key");
  assert.ok(keys[0][1], "the first named what Sam had seen");
  assert.equal(keys[1][1], null, "Send anyway names nothing");
  assert.equal((await onPhone(runner)).filter((b) => b === "Sam's answer").length, 1, "sent once");

  // Edit instead: the contact writes while Sam's next send is on its way.
  crossed = false;
  await sam.unroute("**/whatsapp/messages");
  await sam.route("**/whatsapp/messages", async (route) => {
    if (route.request().method() === "POST" && !crossed) {
      crossed = true;
      await runner.reply("acme", AISHA, { body: "Actually, cancel it" });
    }
    await route.continue();
  });
  await send(sam, "Shipping today!");
  await bar.waitFor();
  assert.match(await bar.innerText(), /Aisha Rahman wrote again/);
  await sam.locator("#collision-edit").click();
  await bar.waitFor({ state: "hidden" });
  assert.equal(await sam.evaluate(() => document.activeElement.id), "message-text");
  assert.equal(await sam.locator("#message-text").inputValue(), "Shipping today!");
  assert.equal((await onPhone(runner)).includes("Shipping today!"), false);

  // A note: the composer says so, it shows for both, and never reaches the contact.
  await sam.locator("#message-text").fill("");
  await sam.locator("#mode-note").click();
  assert.equal(await sam.locator("#mode-note").getAttribute("aria-pressed"), "true");
  assert.match(await sam.locator("#composer").getAttribute("class"), /note-mode/);
  assert.equal(await sam.locator("#send").innerText(), "Add note");
  await sam.locator("#message-text").fill("VIP: refund approved <b>by phone</b>");
  await checkpoint(sam, "team-03-note-mode");
  await sam.locator("#message-text").press("Enter");
  const note = (page) => page.locator("#messages article.note", { hasText: "VIP: refund approved <b>by phone</b>" });
  await note(sam).waitFor();
  assert.equal(await note(sam).locator(".who").innerText(), "Note · You");
  await note(alex).waitFor();
  assert.equal(await note(alex).locator(".who").innerText(), "Note · Sam Okafor");
  assert.equal(await note(alex).locator(".tick").count(), 0, "no ticks");
  assert.equal((await onPhone(runner)).some((b) => (b || "").includes("VIP")), false, "the sandbox holds no message for it");
  // The inbox row is still the contact's newest message, not the note.
  const preview = await alex.locator('#conversation-list li[data-id="c-aisha"] .preview').innerText();
  assert.equal(preview.includes("VIP"), false);
  // On a phone the note mode reads as clearly.
  await sam.setViewportSize({ width: 390, height: 844 });
  await checkpoint(sam, "team-04-note-phone");

  // Back to messages: the next Enter goes to the contact.
  await sam.locator("#mode-message").click();
  assert.equal(await sam.locator("#send").innerText(), "Send");
  assertClean(assert, problems);
  assertClean(assert, samProblems, [/status of 409/]);
});

test("canned responses: made in their dialog, picked with / from the keyboard, blanks filled, sent", async (t) => {
  const { runner, page, problems } = await session(t);
  await runner.reply("acme", AISHA, { body: "Has my order shipped?" });
  await selectContact(page, "Aisha Rahman");

  // The dialog: create, refuse what cannot be saved, edit, delete; Escape gives the focus back.
  await page.locator("#canned-manage").click();
  const dialog = page.locator("#canned-dialog");
  await dialog.waitFor();
  const save = async (shortcut, title, text) => {
    await page.locator("#canned-shortcut").fill(shortcut);
    await page.locator("#canned-title").fill(title);
    await page.locator("#canned-text").fill(text);
    await page.locator("#canned-save").click();
  };
  await save("shipped", "Order shipped", "Hi {{contact.first_name}}, order {{?order number}} ships today. — {{agent.name}}");
  await dialog.locator("li", { hasText: "/shipped" }).waitFor();
  await save("SHIPPED", "Twice", "Again");
  await page.locator("#canned-form-error", { hasText: "Another canned response of the organization has this shortcut." }).waitFor();
  await save("email", "Ask for email", "What is your email, {{contact.email}}?");
  await page.locator("#canned-form-error", { hasText: "{{contact.email}} is not a variable" }).waitFor();
  await save("thanks", "Thanks", "Thank you!");
  await dialog.locator("li", { hasText: "/thanks" }).waitFor();
  await dialog.locator("li", { hasText: "/thanks" }).getByRole("button", { name: "Edit /thanks" }).click();
  assert.equal(await page.locator("#canned-title").inputValue(), "Thanks");
  await page.locator("#canned-text").fill("Thank you, {{contact.name}}!");
  await page.locator("#canned-save").click();
  await dialog.locator("li", { hasText: "Thank you, {{contact.name}}!" }).waitFor();
  await checkpoint(page, "team-05-canned-dialog");
  await dialog.locator("li", { hasText: "/thanks" }).getByRole("button", { name: "Delete /thanks" }).click();
  await dialog.locator("li", { hasText: "/thanks" }).waitFor({ state: "detached" });
  const listed = await runner.api("acme", "GET", "/whatsapp/canned-responses");
  assert.deepEqual(listed.body.canned_responses.map((r) => r.shortcut), ["shipped"]);
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  assert.equal(await page.evaluate(() => document.activeElement.id), "canned-manage");

  // `/` in the composer: the list follows what is typed; Enter picks; the blank is asked for.
  const composer = page.locator("#message-text");
  await composer.focus();
  await composer.pressSequentially("/sh");
  const option = page.locator("#canned-list li[role=option]", { hasText: "/shipped" });
  await option.waitFor();
  assert.equal(await option.getAttribute("aria-selected"), "true");
  assert.equal(await composer.getAttribute("aria-activedescendant"), await option.getAttribute("id"));
  await checkpoint(page, "team-06-canned-list");
  await composer.press("Enter");
  const blank = page.locator("#canned-fill input");
  await blank.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.closest("#canned-fill") !== null), true);
  assert.equal(await page.locator("#canned-fill label").innerText(), "order number");
  await checkpoint(page, "team-07-canned-blank");
  await blank.fill("A-1042");
  await blank.press("Enter");
  await page.locator("#canned-fill").waitFor({ state: "hidden" });
  assert.equal(await composer.inputValue(), "Hi Aisha, order A-1042 ships today. — Alex Rivera");
  assert.equal(await page.evaluate(() => document.activeElement.id), "message-text");
  await composer.press("Enter");
  await message(page, "Hi Aisha, order A-1042 ships today. — Alex Rivera", "SENT").waitFor();
  const sandbox = await (await fetch(`${runner.base}/sandbox/messages`)).json();
  assert.ok(sandbox.some((m) => m.body === "Hi Aisha, order A-1042 ships today. — Alex Rivera"));

  // Escape closes the list and leaves the text as typed.
  await composer.pressSequentially("/zz");
  await page.locator("#canned-list").waitFor();
  assert.match(await page.locator("#canned-list").innerText(), /No canned response starts with/);
  await composer.press("Escape");
  await page.locator("#canned-list").waitFor({ state: "hidden" });
  assert.equal(await composer.inputValue(), "/zz");
  assertClean(assert, problems, [/status of 409/, /status of 422/]);
});
