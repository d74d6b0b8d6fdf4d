// Every kind of WhatsApp message shown for what it is: a shared location with a map link, a
// button reply, a reply quoting an earlier message, a Click-to-WhatsApp ad, an unsupported
// type — never an empty bubble.

import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClean, checkpoint, message, selectContact, send, useBrowser } from "./harness.mjs";

const AISHA = "+60123456789";
const { session } = useBrowser();

test("locations, button replies, quoted replies, ads and unsupported types are shown for what they are", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  await send(page, "Where should we meet?");
  await message(page, "Where should we meet?", "READ").waitFor();
  const sandbox = await (await fetch(`${runner.base}/sandbox/messages?to=${encodeURIComponent(AISHA)}`)).json();
  const asked = sandbox.find((m) => m.body === "Where should we meet?");

  await runner.reply("acme", AISHA, { body: "", location: { latitude: 3.139003, longitude: 101.686855, label: "KLCC", address: "Jalan Ampang, Kuala Lumpur" } });
  const location = page.locator("article.message.inbound .location");
  await location.waitFor();
  assert.equal(await location.locator("strong").textContent(), "📍 KLCC");
  assert.equal(await location.locator(".address").textContent(), "Jalan Ampang, Kuala Lumpur");
  assert.equal(
    await location.getByRole("link", { name: "Open in map" }).getAttribute("href"),
    "https://www.openstreetmap.org/?mlat=3.139003&mlon=101.686855#map=16/3.139003/101.686855",
  );

  await runner.reply("acme", AISHA, { body: "Sounds good, see you there", reply_to: asked.sid });
  const reply = message(page, "Sounds good, see you there", "RECEIVED");
  await reply.waitFor();
  const quote = reply.locator(".quote");
  assert.equal(await quote.textContent(), "Where should we meet?");
  await quote.click();
  await page.locator('article.message.highlight[data-status="READ"]').waitFor();

  await runner.reply("acme", AISHA, { button: { text: "Yes, see you then", payload: "confirm" } });
  const tapped = message(page, "Yes, see you then", "RECEIVED");
  await tapped.waitFor();
  assert.equal(await tapped.locator(".kind").textContent(), "Tapped a button");

  await runner.reply("acme", AISHA, {
    body: "Is this still on offer?",
    referral: { source_url: "https://fb.me/spring-sale", headline: "Spring sale", body: "20% off everything", source_type: "ad" },
  });
  const ad = message(page, "Is this still on offer?", "RECEIVED").locator(".referral");
  await ad.waitFor();
  assert.equal(await ad.locator("strong").textContent(), "Spring sale");
  assert.equal(await ad.getByRole("link", { name: "View it" }).getAttribute("href"), "https://fb.me/spring-sale");

  await runner.reply("acme", AISHA, { message_type: "reaction" });
  const unsupported = page.locator("article.message.inbound .unsupported");
  await unsupported.waitFor();
  assert.equal(await unsupported.textContent(), "This message type isn't supported here. (reaction)");
  await checkpoint(page, "40-message-kinds");
  // The organization's templates stay offered whenever the contact was picked.
  await page.waitForFunction(() => !document.getElementById("template-toggle").disabled);

  // No bubble is empty.
  const empty = await page.locator("article.message").evaluateAll((nodes) => nodes.filter((n) => n.children.length <= 2).length);
  assert.equal(empty, 0);
  assertClean(assert, problems);
});

test("the sandbox panel plays each kind by clicking", async (t) => {
  const { page, problems } = await session(t);
  await selectContact(page, "Carla Mendes");
  await send(page, "Your table is booked for 8pm");
  await message(page, "Your table is booked for 8pm", "READ").waitFor();
  await page.getByRole("button", { name: "Share a location" }).click();
  await page.locator("article.message.inbound .location").waitFor();
  await page.getByRole("button", { name: "Reply to your last message" }).click();
  const quote = message(page, "Replying to that", "RECEIVED").locator(".quote");
  await quote.waitFor();
  assert.equal(await quote.textContent(), "Your table is booked for 8pm");
  await page.getByRole("button", { name: "Tap a button" }).click();
  await message(page, "Yes, see you then", "RECEIVED").waitFor();
  await page.getByRole("button", { name: "Write from an ad" }).click();
  await page.locator("article.message.inbound .referral").waitFor();
  await page.getByRole("button", { name: "Send an unsupported type" }).click();
  await page.locator("article.message.inbound .unsupported").waitFor();

  // A shared contact: name and number shown, the card downloadable; a sticker is an image.
  await page.getByRole("button", { name: "Share a contact" }).click();
  const card = page.locator("article.message.inbound .card");
  await card.waitFor();
  assert.equal(await card.locator("strong").textContent(), "👤 Grace Lim");
  assert.equal(await card.locator(".phone").textContent(), "+60 12-345 6781");
  const download = card.getByRole("link", { name: "Download contact card" });
  const vcard = await (await fetch(new URL(await download.getAttribute("href"), page.url()))).text();
  assert.match(vcard, /^BEGIN:VCARD/);
  await page.getByRole("button", { name: "Send a sticker" }).click();
  const sticker = page.locator('article.message.inbound img[alt="photo"]').last();
  await sticker.waitFor();
  await page.waitForFunction((img) => img.complete && img.naturalWidth === 96, await sticker.elementHandle());
  await checkpoint(page, "41-contact-card-and-sticker");
  assertClean(assert, problems);
});
