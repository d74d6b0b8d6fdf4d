// The sender's health at a glance: the header chip for each class Twilio's Senders API can
// put a sender in (green, amber, red with its reason) and for Twilio unreadable, on a desk
// and on a phone; the page's first read of the channel never waits on it, and a hidden tab
// does not keep reading it.

import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClean, checkpoint, openPage, useBrowser } from "./harness.mjs";

const SENDER = "+14155238886";
const { session, browser } = useBrowser();

async function sandbox(runner, path, body) {
  const response = await fetch(`${runner.base}/sandbox${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());
}

test("the header shows the sender's health, each class, and says so when Twilio cannot be read", async (t) => {
  const { runner, page, problems } = await session(t, {
    // No server cache and a quick page refresh, so each change at "Twilio" shows in a second.
    runner: { env: { TEMPLATE_CACHE_SECONDS: "0" } },
    page: { config: { senderHealthRefreshMs: 400 } },
  });
  const chip = page.locator("#sender-health");

  await chip.filter({ hasText: "● WhatsApp sender: OK" }).waitFor();
  assert.equal(await chip.getAttribute("data-level"), "green");
  assert.match(await chip.getAttribute("title"), /\+14155238886 · ONLINE · quality HIGH · 10K Customers\/24hr/);
  await checkpoint(page, "health-01-green");

  const cases = [
    [{ status: "ONLINE", quality_rating: "MEDIUM", messaging_limit: "1K Customers/24hr" }, "amber", "▲ WhatsApp sender: quality MEDIUM, Meta may lower its limit"],
    [{ status: "TWILIO_REVIEW", quality_rating: "HIGH" }, "amber", "▲ WhatsApp sender: in review at Twilio"],
    [{ status: "ONLINE:UPDATING", quality_rating: "HIGH" }, "amber", "▲ WhatsApp sender: updating"],
    [{ status: "PENDING_VERIFICATION" }, "amber", "▲ WhatsApp sender: waiting for verification"],
    [
      { status: "OFFLINE", quality_rating: "LOW", offline_reasons: [{ code: "30008", message: "No delivery", more_info: "https://www.twilio.com/docs/api/errors/30008" }] },
      "red",
      "■ WhatsApp sender: offline: No delivery",
    ],
  ];
  for (const [health, level, text] of cases) {
    await sandbox(runner, "/senders", { sender: SENDER, ...health });
    await chip.filter({ hasText: text }).waitFor();
    assert.equal(await chip.getAttribute("data-level"), level, text);
  }
  await checkpoint(page, "health-02-red");

  // Twilio cannot be read: the chip says so; the page works on.
  await sandbox(runner, "/senders/unavailable", { unavailable: true });
  await chip.filter({ hasText: "Sender status unknown (Twilio could not be read)" }).waitFor();
  assert.equal(await chip.getAttribute("data-level"), "unknown");
  await checkpoint(page, "health-03-unknown");
  await sandbox(runner, "/senders/unavailable", { unavailable: false });
  await chip.filter({ hasText: "offline: No delivery" }).waitFor();

  // The first read of the channel asked not to wait on Twilio; the health came after it.
  const channelReads = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .filter((e) => e.name.includes("/whatsapp/channel"))
      .map((e) => new URL(e.name).search),
  );
  assert.equal(channelReads[0], "?sender_health=false", channelReads.join(" "));
  assert.ok(channelReads.slice(1).includes(""), channelReads.join(" "));

  // A hidden tab stops reading it, and reads it again when shown.
  let reads = 0;
  page.on("request", (r) => /\/whatsapp\/channel$/.test(r.url()) && (reads += 1));
  const setHidden = (hidden) =>
    page.evaluate((value) => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => value });
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);
  await setHidden(true);
  await page.waitForTimeout(600);
  reads = 0;
  await page.waitForTimeout(1500);
  assert.equal(reads, 0, "no reads while hidden");
  await sandbox(runner, "/senders", { sender: SENDER, status: "ONLINE", quality_rating: "HIGH" });
  await setHidden(false);
  await chip.filter({ hasText: "● WhatsApp sender: OK" }).waitFor({ timeout: 2000 });
  assert.ok(reads >= 1, `read again when shown (${reads})`);
  await sandbox(runner, "/senders", { sender: SENDER, status: "OFFLINE", offline_reasons: [{ code: "30008", message: "No delivery" }] });
  await chip.filter({ hasText: "offline: No delivery" }).waitFor();

  // On a phone the chip fits the screen.
  const phone = await openPage(browser(), runner, { viewport: { width: 390, height: 844 }, config: { senderHealthRefreshMs: 400 } });
  t.after(() => phone.context.close());
  const small = phone.page.locator("#sender-health");
  await small.filter({ hasText: "offline: No delivery" }).waitFor();
  const box = await small.boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
  await checkpoint(phone.page, "health-04-phone");

  assertClean(assert, problems);
  assertClean(assert, phone.problems);
});
