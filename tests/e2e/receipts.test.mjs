// Read receipts and the typing indicator, as the contact sees them on the sandbox panel's
// phone: opening a conversation turns their messages' ticks blue and shows "typing…",
// typing a reply keeps the indicator up (one request for a burst of keys), the delivered
// reply takes it down; a conversation the contact never wrote in tells WhatsApp nothing.

import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClean, message, selectContact, useBrowser } from "./harness.mjs";

const AISHA = "+60123456789";

const { session } = useBrowser();

const typingOnPhone = (page) => page.evaluate(() => document.querySelector("#sandbox-typing").textContent);

test("the contact sees blue ticks and typing… when an agent reads and types, until the reply arrives", async (t) => {
  const { runner, page, problems } = await session(t);
  const typing = [];
  page.on("request", (request) => {
    if (request.method() === "POST" && new URL(request.url()).pathname.endsWith("/typing")) typing.push(request.url());
  });
  await runner.reply("acme", AISHA, { body: "Is the shop open today?" });
  await selectContact(page, "Aisha Rahman");
  await message(page, "Is the shop open today?").waitFor();
  // Reading it: WhatsApp marks it read and shows "typing…" (Twilio's one indicator does both).
  await page.locator("#sandbox-ticks.read", { hasText: "✓✓ read" }).waitFor();
  await page.waitForFunction(() => document.querySelector("#sandbox-typing").textContent === "typing…");

  // Typing a reply: one request for the whole burst; the server says the indicator is up.
  const answered = page.waitForResponse((r) => r.url().endsWith("/whatsapp/conversations/c-aisha/typing"));
  await page.locator("#message-text").pressSequentially("Yes, until six", { delay: 15 });
  assert.deepEqual(await (await answered).json(), { indicator: "not_due" });
  assert.equal(typing.length, 1, typing.join("\n"));

  // The reply is delivered: the indicator goes.
  await page.locator("#message-text").press("Enter");
  await message(page, "Yes, until six", "DELIVERED").or(message(page, "Yes, until six", "READ")).first().waitFor();
  await page.waitForFunction(() => document.querySelector("#sandbox-typing").textContent === "");

  // Ben never wrote: typing to him tells WhatsApp nothing.
  await selectContact(page, "Ben Ong");
  await page.locator("#message-text").pressSequentially("Hello Ben", { delay: 15 });
  assert.equal(typing.length, 1, "no indicator for a conversation without an inbound message");
  assert.equal(await typingOnPhone(page), "");
  assertClean(assert, problems);
});
