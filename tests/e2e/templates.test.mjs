// Approved WhatsApp templates: starting a conversation outside the 24-hour window, and the
// picker inside it, in a real browser against the sandbox's Content API.

import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClean, checkpoint, message, selectContact, useBrowser } from "./harness.mjs";

const DEV = "+14155550123";

const { session } = useBrowser();

test("a template with its variables filled in reaches a contact outside the window and is read", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Dev Patel");
  await page.locator("#templates").waitFor();
  // Only approved templates: the pending and rejected ones of the seed are not offered.
  const choices = page.locator(".template-choice strong");
  await choices.first().waitFor();
  assert.deepEqual(await choices.allTextContents(), ["appointment_reminder", "invoice_ready", "order_shipped"]);
  await page.locator("#template-search").fill("shipped");
  assert.deepEqual(await choices.allTextContents(), ["order_shipped"]);
  await page.locator(".template-choice").first().click();

  // The approved samples are the placeholders; the preview shows what Dev will receive.
  const first = page.locator('[data-variable="1"]');
  assert.equal(await first.getAttribute("placeholder"), "Aisha");
  const preview = page.locator("#template-preview .preview-text");
  assert.equal(await preview.textContent(), "Hi [Aisha], your order [#1042] has shipped and should arrive on [Friday].");
  await first.fill("Dev");
  await page.locator('[data-variable="2"]').fill("#2231");
  await page.locator("#template-send").click();
  await page.locator(".toast", { hasText: "Fill in {{3}} before sending." }).waitFor();
  await page.locator('[data-variable="3"]').fill("Monday");
  assert.equal(await preview.textContent(), "Hi Dev, your order #2231 has shipped and should arrive on Monday.");
  assert.equal(
    await page.locator("#template-preview").textContent(),
    "Hi Dev, your order #2231 has shipped and should arrive on Monday.",
    "nothing but what Dev receives",
  );
  await checkpoint(page, "30-template-preview");
  await page.locator("#template-send").click();

  const sent = message(page, "Hi Dev, your order #2231 has shipped and should arrive on Monday.", "READ");
  await sent.waitFor();
  assert.equal(await sent.locator(".template-label").textContent(), "Template: order_shipped");
  await checkpoint(page, "31-template-read");
  const at = await (await fetch(`${runner.base}/sandbox/messages?to=${encodeURIComponent(DEV)}`)).json();
  assert.deepEqual(at.map((m) => m.body), ["Hi Dev, your order #2231 has shipped and should arrive on Monday."], "once, as rendered");
  // Still outside the window: the picker stays, ready for another template.
  assert.equal(await page.locator("#message-text").isVisible(), false);
  assert.equal(await page.locator("#templates").isVisible(), true);
  assertClean(assert, problems);
});

test("inside the window the Template button offers the same picker, with buttons in the preview", async (t) => {
  const { page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  assert.equal(await page.locator("#templates").isVisible(), false);
  const toggle = page.locator("#template-toggle");
  await page.waitForFunction(() => !document.getElementById("template-toggle").disabled);
  await toggle.click();
  await page.locator(".template-choice", { hasText: "appointment_reminder" }).click();
  // A variable named for a contact field starts with the contact's value; a numbered one
  // starts empty, its approved sample a hint only.
  assert.equal(await page.locator('[data-variable="first_name"]').inputValue(), "Aisha");
  assert.equal(await page.locator('[data-variable="2"]').inputValue(), "");
  assert.equal(await page.locator('[data-variable="2"]').getAttribute("placeholder"), "Tuesday 10:00");
  assert.equal(await page.locator("#template-preview .preview-text").textContent(), "Hi Aisha, a reminder of your appointment on [Tuesday 10:00]. Can you make it?");
  const buttons = page.locator("#template-preview .preview-button");
  assert.deepEqual(await buttons.allTextContents(), ["Yes, see you then", "Please reschedule"]);
  await page.locator("#template-back").click();
  await page.locator(".template-choice", { hasText: "invoice_ready" }).click();
  assert.equal(await page.locator("#template-preview .preview-media").textContent(), "Media: sample-invoice.pdf");
  await page.locator("#template-close").click();
  await page.locator("#templates").waitFor({ state: "hidden" });
  assert.equal(await page.locator("#message-text").isVisible(), true);
  assertClean(assert, problems);
});

test("an organization without approved templates sees why the picker is empty", async (t) => {
  const { page, problems } = await session(t);
  // The runner's seed gives Acme templates; a failing Content API is the other way to none.
  await page.route("**/whatsapp/templates*", (route) =>
    route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ templates: [] }) }),
  );
  await page.reload();
  await selectContact(page, "Dev Patel");
  const notice = page.locator("#template-notice");
  await notice.waitFor();
  assert.equal(await notice.textContent(), "No approved WhatsApp templates for this organization yet.");
  assert.equal(await page.locator("#template-toggle").isDisabled(), true);
  assertClean(assert, problems);
});
