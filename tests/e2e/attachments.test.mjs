// Attachments both ways: upload chips with checks, sending media, and the contact's media.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { assertClean, checkpoint, root, selectContact, send, useBrowser } from "./harness.mjs";

const AISHA = "+60123456789";
const PHOTO = readFileSync(path.join(root, "local/src/sandbox/sample-photo.jpg"));
const PDF = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");

const { session } = useBrowser();

/** Whether an <img> in the page finished loading a real picture. */
const loaded = (img) => img.evaluate((node) => node.complete && node.naturalWidth > 0);

test("a photo and a document go out as chips, upload, and arrive at Twilio as media", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  await page.locator("#file-input").setInputFiles([
    { name: "storefront.jpg", mimeType: "image/jpeg", buffer: PHOTO },
    { name: "invoice.pdf", mimeType: "application/pdf", buffer: PDF },
  ]);
  const chips = page.locator("#chips li");
  await page.waitForFunction(() => document.querySelectorAll("#chips li").length === 2 && !document.querySelector("#chips progress"));
  assert.match(await chips.nth(0).innerText(), new RegExp(`storefront\\.jpg \\(${Math.round(PHOTO.length / 1024)} KB\\)`));
  assert.match(await chips.nth(1).innerText(), /invoice\.pdf \(\d+ B\)/);
  assert.equal(await page.locator("#send").isEnabled(), true);
  await checkpoint(page, "20-attachment-chips");

  await send(page, "Your storefront and the invoice");
  // One media per WhatsApp message: two messages, the text as the photo's caption.
  const photo = page.locator('article.message.outbound[data-status="READ"]', { has: page.locator("img") });
  await photo.waitFor();
  assert.equal(await photo.locator(".text").textContent(), "Your storefront and the invoice");
  assert.equal(await loaded(photo.locator("img")), true, "the sent photo is shown from storage");
  const documentLink = page.locator("article.message.outbound", { has: page.getByRole("link", { name: "Document: invoice.pdf" }) });
  await documentLink.waitFor();
  await page.locator('article.message.outbound[data-status="READ"]').nth(1).waitFor();
  assert.equal(await chips.count(), 0, "sent attachments leave the composer");
  await checkpoint(page, "21-attachments-sent");

  const sandbox = await (await fetch(`${runner.base}/sandbox/messages`)).json();
  const sent = sandbox.filter((m) => m.direction === "outbound-api");
  assert.deepEqual(
    sent.map((m) => [m.media_content_type, m.media_size]).sort(),
    [["application/pdf", PDF.length], ["image/jpeg", PHOTO.length]],
    "Twilio fetched exactly the uploaded files",
  );
  assertClean(assert, problems);
});

test("sending again after a failure halfway sends only what did not go out (one Idempotency-Key per composition)", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  await page.locator("#file-input").setInputFiles([
    { name: "storefront.jpg", mimeType: "image/jpeg", buffer: PHOTO },
    { name: "invoice.pdf", mimeType: "application/pdf", buffer: PDF },
  ]);
  await page.waitForFunction(() => document.querySelectorAll("#chips li").length === 2 && !document.querySelector("#chips progress"));
  // The photo's job is queued, the invoice's is not: the send answers 503.
  await runner.storeFault({ store: "queue", operation: "enqueue", after: 1, times: 1 });
  await send(page, "Storefront and invoice");
  await page.locator(".toast", { hasText: "temporarily unavailable" }).waitFor();
  assert.equal(await page.locator("#chips li").count(), 2, "the composition stays for a retry");
  await page.locator("#send").click();
  await page.locator('article.message.outbound[data-status="READ"]').nth(1).waitFor();
  const sandbox = await (await fetch(`${runner.base}/sandbox/messages`)).json();
  const sent = sandbox.filter((m) => m.direction === "outbound-api");
  assert.deepEqual(
    sent.map((m) => m.media_content_type).sort(),
    ["application/pdf", "image/jpeg"],
    "each file reached the contact once",
  );
  assertClean(assert, problems, [/status of 503/]);
});

test("files WhatsApp would refuse are stopped before upload, and a chip can be removed", async (t) => {
  const { page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  await page.locator("#file-input").setInputFiles([
    { name: "setup.exe", mimeType: "application/x-msdownload", buffer: Buffer.from("MZ") },
    { name: "huge.jpg", mimeType: "image/jpeg", buffer: Buffer.alloc(5 * 1024 * 1024 + 1, 0xff) },
    { name: "photo.png", mimeType: "image/jpeg", buffer: PHOTO },
  ]);
  await page.locator(".toast", { hasText: "setup.exe: WhatsApp does not accept application/x-msdownload files." }).waitFor();
  await page.locator(".toast", { hasText: "huge.jpg: The file is too large: at most 5 MB for this type." }).waitFor();
  await page.locator(".toast", { hasText: "photo.png: The file name does not match its type (image/jpeg)." }).waitFor();
  assert.equal(await page.locator("#chips li").count(), 0, "nothing refused is uploaded");

  // While a file uploads its chip shows progress and Send waits for it.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const hold = async (route) => {
    if (route.request().method() === "PUT") await held;
    await route.continue();
  };
  await page.route("**/local/media/**", hold);
  await page.locator("#file-input").setInputFiles([{ name: "keep.pdf", mimeType: "application/pdf", buffer: PDF }]);
  const chip = page.locator("#chips li", { hasText: "keep.pdf" });
  await chip.getByRole("progressbar", { name: "Uploading keep.pdf" }).waitFor();
  assert.equal(await page.locator("#send").isDisabled(), true, "no send while an upload runs");
  await checkpoint(page, "23-uploading");
  const uploaded = page.waitForResponse((r) => r.request().method() === "PUT");
  release();
  assert.equal((await uploaded).status(), 200);
  await page.unroute("**/local/media/**", hold);
  await chip.getByRole("progressbar").waitFor({ state: "detached" });
  assert.equal(await page.locator("#send").isEnabled(), true);
  await chip.getByRole("button", { name: "Remove keep.pdf" }).click();
  await chip.waitFor({ state: "detached" });

  // An empty composer sends nothing, and says nothing (no error-looking notice).
  await page.locator("#send").click();
  await page.waitForTimeout(300);
  assert.equal(await page.locator(".toast", { hasText: "No content to send." }).count(), 0);
  assert.equal(await page.locator("article.message").count(), 0);
  assertClean(assert, problems);
});

test("a file whose content is not what its name says is refused by the server", async (t) => {
  const { page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  await page.locator("#file-input").setInputFiles([
    { name: "holiday.jpg", mimeType: "image/jpeg", buffer: Buffer.from("#!/bin/sh\necho not a photo\n") },
  ]);
  await page.waitForFunction(() => document.querySelectorAll("#chips li").length === 1 && !document.querySelector("#chips progress"));
  await page.locator("#send").click();
  await page.locator(".toast", { hasText: "The file's content is not image/jpeg." }).waitFor();
  assert.equal(await page.locator("article.message").count(), 0, "nothing stays pending");
  assertClean(assert, problems, [/status of 422/]);
});

test("the contact's photo, document and voice note appear with previews and players", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  await page.getByRole("button", { name: "Send photo" }).click();
  await page.getByRole("button", { name: "Send document" }).click();
  await runner.reply("acme", AISHA, { media: "voice" });

  const inbound = page.locator("article.message.inbound");
  const img = inbound.locator("img");
  await img.waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector("article.message.inbound img");
    return img && img.complete && img.naturalWidth > 0;
  });
  assert.equal(await img.evaluate((node) => node.naturalWidth), 160);
  const link = inbound.getByRole("link", { name: "Document: PDF file" });
  await link.waitFor();
  const audio = inbound.locator("audio");
  await audio.waitFor();
  assert.equal(await inbound.locator(".who").first().textContent(), "Aisha Rahman");

  // Served from the organization's storage through short-lived URLs, never from Twilio.
  for (const url of [await img.getAttribute("src"), await link.getAttribute("href"), await audio.getAttribute("src")]) {
    assert.ok(url.startsWith(`${runner.base}/local/media/acme/`), url);
    assert.ok(!url.includes("/sandbox/"), url);
  }
  // A document is a download, never rendered in the CRM's browser (docs/security.md).
  const pdf = await fetch(await link.getAttribute("href"));
  assert.equal(pdf.status, 200);
  assert.equal(pdf.headers.get("content-disposition"), "attachment");
  assert.equal(pdf.headers.get("content-type"), "application/octet-stream");
  assert.ok(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).equals(Buffer.from("%PDF-")));
  await checkpoint(page, "22-media-received");
  assertClean(assert, problems);
});

test("files pasted or dropped into the composer are attached; a text too long for a caption goes on its own", async (t) => {
  const { runner, page, problems } = await session(t);
  await selectContact(page, "Aisha Rahman");
  // A screenshot pasted into the message box, and a document dropped on the composer.
  await page.evaluate((bytes) => {
    const file = (name, type, data) => new File([new Uint8Array(data)], name, { type });
    const pasted = new DataTransfer();
    pasted.items.add(file("pasted.jpg", "image/jpeg", bytes));
    document.getElementById("message-text").dispatchEvent(new ClipboardEvent("paste", { clipboardData: pasted, bubbles: true, cancelable: true }));
    const dropped = new DataTransfer();
    dropped.items.add(file("dropped.pdf", "application/pdf", [...new TextEncoder().encode("%PDF-1.4\n%%EOF\n")]));
    const form = document.getElementById("composer");
    form.dispatchEvent(new DragEvent("dragover", { dataTransfer: dropped, bubbles: true, cancelable: true }));
    form.dispatchEvent(new DragEvent("drop", { dataTransfer: dropped, bubbles: true, cancelable: true }));
  }, [...PHOTO]);
  await page.waitForFunction(() => document.querySelectorAll("#chips li").length === 2 && !document.querySelector("#chips progress"));
  assert.match(await page.locator("#chips li").nth(0).innerText(), /^pasted\.jpg/);
  assert.match(await page.locator("#chips li").nth(1).innerText(), /^dropped\.pdf/);
  // Pasting text stays text.
  await page.locator("#message-text").focus();
  await page.evaluate(() => {
    const text = new DataTransfer();
    text.setData("text/plain", "x");
    document.getElementById("message-text").dispatchEvent(new ClipboardEvent("paste", { clipboardData: text, bubbles: true, cancelable: true }));
  });
  assert.equal(await page.locator("#chips li").count(), 2);

  // Over 1,024 characters with a photo: the counter says it goes as a message of its own.
  const long = "A long explanation. ".repeat(55).trim();
  await page.locator("#message-text").fill(long);
  assert.match(await page.locator("#char-count").innerText(), /^1,099 \/ 1,600 — over 1,024: sent as a message of its own, not as the caption$/);
  await page.locator("#message-text").press("Enter");
  await page.locator('article.message.outbound[data-status="READ"]', { has: page.locator("img") }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('article.message.outbound[data-status="READ"]').length === 3);
  const sent = (await (await fetch(`${runner.base}/sandbox/messages`)).json()).filter((m) => m.direction === "outbound-api");
  assert.deepEqual(
    sent.map((m) => [(m.body || "").length, m.media_content_type || null]).sort(),
    [[0, "application/pdf"], [0, "image/jpeg"], [long.length, null]].sort(),
    "the text alone, then each file without a caption",
  );
  assertClean(assert, problems);
});
