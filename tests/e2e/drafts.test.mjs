// Drafts: what an agent typed and attached stays with its conversation, on the server, per
// agent: switching contacts swaps it, a reload brings it back, a send empties it, and a
// save that fails is tried again without touching the composer.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { assertClean, checkpoint, root, selectContact, send, useBrowser } from "./harness.mjs";

const PHOTO = readFileSync(path.join(root, "local/src/sandbox/sample-photo.jpg"));

const { session } = useBrowser();

/** The demo agent's token and a contact's id, as the API knows them. */
async function agent(runner) {
  const demo = await (await fetch(`${runner.base}/local/demo`)).json();
  const org = demo.organizations.find((o) => o.whatsapp_configured);
  const api = async (method, apiPath, body) => {
    const response = await fetch(`${runner.base}${apiPath}`, {
      method,
      headers: { Authorization: `Bearer ${org.token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
  const contactId = async (name) => {
    const page = await api("GET", `/whatsapp/contacts?q=${encodeURIComponent(name)}`);
    return page.body.contacts.find((c) => c.name === name).contact_id;
  };
  return { org, api, contactId };
}

const composer = (page) => page.locator("#message-text");
const chips = (page) => page.locator("#chips li");

test("a draft stays with its conversation: switched, reloaded, and emptied by the send", async (t) => {
  const { runner, page, problems } = await session(t, { page: { config: { draftSaveMs: 200 } } });
  const { api, contactId } = await agent(runner);
  await selectContact(page, "Aisha Rahman");
  await composer(page).fill("For Aisha only");
  await page.locator("#file-input").setInputFiles([{ name: "storefront.jpg", mimeType: "image/jpeg", buffer: PHOTO }]);
  await page.waitForFunction(() => document.querySelectorAll("#chips li").length === 1 && !document.querySelector("#chips progress"));

  // Another conversation: its own (empty) composer; Enter there can never send Aisha's text.
  await selectContact(page, "Ben Ong");
  assert.equal(await composer(page).inputValue(), "");
  assert.equal(await chips(page).count(), 0);
  await composer(page).fill("Ben, about your refund");
  await selectContact(page, "Aisha Rahman");
  assert.equal(await composer(page).inputValue(), "For Aisha only");
  assert.match(await chips(page).first().innerText(), /storefront\.jpg/);

  // On the server, per conversation (saved on the switch).
  const aisha = await contactId("Aisha Rahman");
  const ben = await contactId("Ben Ong");
  const stored = await api("GET", `/whatsapp/conversations/${aisha}/draft`);
  assert.equal(stored.body.draft.text, "For Aisha only");
  assert.deepEqual(stored.body.draft.attachments.map((a) => [a.filename, a.available]), [["storefront.jpg", true]]);
  assert.equal((await api("GET", `/whatsapp/conversations/${ben}/draft`)).body.draft.text, "Ben, about your refund");

  // A reload brings both back.
  await page.reload();
  await page.locator("#conversation-list li, #contact-list li").first().waitFor();
  // The address kept the open conversation, draft and all.
  await page.locator("#conversation-title", { hasText: "Aisha Rahman" }).waitFor();
  await page.waitForFunction(() => document.querySelector("#message-text").value === "For Aisha only");
  await selectContact(page, "Ben Ong");
  await page.waitForFunction(() => document.querySelector("#message-text").value === "Ben, about your refund");
  await selectContact(page, "Aisha Rahman");
  await page.waitForFunction(() => document.querySelector("#message-text").value === "For Aisha only");
  assert.match(await chips(page).first().innerText(), /storefront\.jpg/);
  await checkpoint(page, "60-draft-restored");

  // Sent: the photo and its caption go out, and the draft is gone, here and on the server.
  await send(page, "For Aisha only");
  await page.locator('article.message.outbound[data-status="READ"]', { has: page.locator("img") }).waitFor();
  assert.equal(await composer(page).inputValue(), "");
  assert.equal(await chips(page).count(), 0);
  await page.waitForFunction(
    async (p) => (await (await fetch(p.url, { headers: { Authorization: `Bearer ${p.token}` } })).json()).draft === null,
    { url: `/whatsapp/conversations/${aisha}/draft`, token: (await agent(runner)).org.token },
  );
  const sandbox = await (await fetch(`${runner.base}/sandbox/messages`)).json();
  const sent = sandbox.filter((m) => m.direction === "outbound-api");
  assert.deepEqual(sent.map((m) => [m.to, m.body]), [["whatsapp:+60123456789", "For Aisha only"]], "Ben's text went nowhere");
  assertClean(assert, problems);
});

test("a save that fails is tried again and the composer keeps what was typed", async (t) => {
  const { runner, page, problems } = await session(t, { page: { config: { draftSaveMs: 100, draftRetryMs: 300 } } });
  const { api, contactId } = await agent(runner);
  const carla = await contactId("Carla Mendes");
  let refused = 0;
  await page.route("**/draft", async (route) => {
    if (route.request().method() === "PUT" && refused < 2) {
      refused += 1;
      return route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: { code: "service_unavailable", message: "Try again." } }) });
    }
    return route.continue();
  });
  await selectContact(page, "Carla Mendes");
  await composer(page).fill("Carla, your parcel");
  for (let i = 0; i < 50 && (await api("GET", `/whatsapp/conversations/${carla}/draft`)).body.draft === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(refused, 2, "two saves refused");
  assert.equal((await api("GET", `/whatsapp/conversations/${carla}/draft`)).body.draft.text, "Carla, your parcel");
  assert.equal(await composer(page).inputValue(), "Carla, your parcel", "the composer kept it throughout");
  assertClean(assert, problems, [/503/]);
});

test("an attachment whose upload has expired shows as such and is not sent", async (t) => {
  const { runner, page, problems } = await session(t);
  const { org, api, contactId } = await agent(runner);
  const aisha = await contactId("Aisha Rahman");
  const saved = await api("PUT", `/whatsapp/conversations/${aisha}/draft`, {
    text: "Here is the photo",
    attachments: [{ key: `${org.organization_id}/uploads/01JEXPIRED/old.jpg`, content_type: "image/jpeg", filename: "old.jpg", size: 1200 }],
  });
  assert.equal(saved.status, 200);
  assert.equal(saved.body.draft.attachments[0].available, false);
  await selectContact(page, "Aisha Rahman");
  await page.waitForFunction(() => document.querySelector("#message-text").value === "Here is the photo");
  const chip = chips(page).first();
  await chip.waitFor();
  assert.match(await chip.innerText(), /old\.jpg .*Upload expired: attach the file again/s);
  assert.equal(await chip.evaluate((n) => n.classList.contains("error")), true);
  await checkpoint(page, "61-draft-expired-upload");
  await send(page, "Here is the photo");
  await page.locator('article.message.outbound[data-status="READ"]').waitFor();
  const sandbox = await (await fetch(`${runner.base}/sandbox/messages`)).json();
  const sent = sandbox.filter((m) => m.direction === "outbound-api");
  assert.deepEqual(sent.map((m) => [m.body, (m.media_url || []).length]), [["Here is the photo", 0]], "the text went, the expired file did not");
  assertClean(assert, problems);
});
