// Live updates in a real browser: replies and ticks pushed over the Event API protocol (the
// local runner serves AppSync Events' WebSocket), the poll fallback when the socket is lost,
// and the organization rule seen from the page's own origin.

import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClean, checkpoint, message, openPage, selectContact, send, startRunner, useBrowser } from "./harness.mjs";

const BEN = "+6591234567";

const { session, browser } = useBrowser();

/** Counts the conversation requests the page makes (loads and polls). */
function countConversationRequests(page) {
  const seen = { all: 0, polls: 0 };
  page.on("request", (request) => {
    if (!/\/whatsapp\/messages\?/.test(request.url())) return;
    seen.all += 1;
    if (/after=/.test(request.url())) seen.polls += 1;
  });
  return seen;
}

/** Selects the contact and waits for its first page. */
async function open(page, name, id) {
  const loaded = page.waitForResponse((r) => r.url().includes(`/whatsapp/messages?contact_id=${id}`));
  await selectContact(page, name);
  await loaded;
}

const liveState = (page) => page.locator("#live-status").getAttribute("data-state");

async function waitLive(page, state) {
  await page.locator(`#live-status[data-state="${state}"]`).waitFor({ state: "attached" });
}

test("a reply and every tick arrive by push: no request after the load and the connect catch-up", async (t) => {
  const { runner, page, problems } = await session(t);
  const requests = countConversationRequests(page);
  await waitLive(page, "up");
  assert.equal(await page.locator("#live-status").textContent(), "● Live");
  await open(page, "Ben Ong", "c-ben");
  // Settled: the first page, and at most the one catch-up poll of the connect.
  await page.waitForTimeout(1500);
  const settled = { ...requests };
  assert.ok(settled.all >= 1 && settled.all <= 2, `load + catch-up: ${JSON.stringify(settled)}`);
  assert.ok(settled.polls <= 1, `${JSON.stringify(settled)}`);

  await runner.reply("acme", BEN, { body: "Pushed, not polled" });
  await message(page, "Pushed, not polled", "RECEIVED").waitFor();
  // Our own send, ticking up to read by push alone.
  await send(page, "Thanks, on its way");
  await message(page, "Thanks, on its way", "READ").waitFor();
  assert.deepEqual({ ...requests }, settled, "nothing was polled: push brought the reply and the ticks");
  assert.equal(await liveState(page), "up");
  assertClean(assert, problems);
});

test("when the socket is lost the page polls, then reconnects and stops polling", async (t) => {
  const { runner, page, problems } = await session(t, { page: { config: { liveRetryMs: 300 } } });
  const requests = countConversationRequests(page);
  await waitLive(page, "up");
  await open(page, "Ben Ong", "c-ben");

  // The Event API goes away: open connections drop, the next attempts are refused.
  await runner.liveFault({ drop: true, refuse: 1000 });
  await waitLive(page, "down");
  const before = requests.polls;
  await runner.reply("acme", BEN, { body: "Arrived while push was down" });
  await message(page, "Arrived while push was down", "RECEIVED").waitFor();
  assert.ok(requests.polls > before, "the poll fallback brought it");
  // Not live: each refused attempt goes "Connecting…" then "Reconnecting…" (300 ms apart here).
  assert.match(await page.locator("#live-status").textContent(), /^(Reconnecting|Connecting)/);

  // Back: the page reconnects by itself, catches up once, and polling stops.
  await runner.liveFault({ refuse: 0 });
  await waitLive(page, "up");
  await page.waitForTimeout(800);
  const back = requests.polls;
  await runner.reply("acme", BEN, { body: "Pushed again" });
  await message(page, "Pushed again", "RECEIVED").waitFor();
  await page.waitForTimeout(1500);
  assert.equal(requests.polls, back, "no polling once push is back");
  // The refused attempts are 503s Chromium logs as failed WebSocket handshakes.
  assertClean(assert, problems, [/WebSocket connection to .* failed/]);
});

test("an event push lost is brought by the safety-net poll, which relaxes while it finds nothing", async (t) => {
  const { runner, page, problems } = await session(t, { page: { config: { livePollMs: 400, livePollMaxMs: 1600 } } });
  const polls = [];
  page.on("request", (request) => {
    if (/\/whatsapp\/messages\?.*after=/.test(request.url())) polls.push(Date.now());
  });
  await waitLive(page, "up");
  await open(page, "Ben Ong", "c-ben");
  // Nothing happens: each safety-net poll waits twice as long as the one before (to the cap).
  await page.waitForTimeout(4000);
  const gaps = polls.slice(1).map((at, i) => at - polls[i]);
  assert.ok(polls.length >= 3 && polls.length <= 6, `${polls.length} polls in 4 s: ${gaps}`);
  assert.ok(gaps.at(-1) >= 1200, `the net relaxed: ${gaps}`);
  // The publish of the next change is lost: the safety net brings it all the same.
  await runner.liveFault({ lose: 1 });
  await runner.reply("acme", BEN, { body: "Lost on the way" });
  await message(page, "Lost on the way", "RECEIVED").waitFor({ timeout: 5000 });
  assertClean(assert, problems);
});

test("the page's token subscribes to its own organization only, and cannot publish", async (t) => {
  const { runner, page } = await session(t);
  await waitLive(page, "up");
  const outcome = await page.evaluate(async ({ acme }) => {
    const url = `${location.origin.replace("http", "ws")}/event/realtime`;
    const header = btoa(JSON.stringify({ host: location.host, Authorization: acme })).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const socket = new WebSocket(url, ["aws-appsync-event-ws", `header-${header}`]);
    const frames = [];
    await new Promise((resolve) => {
      socket.onopen = () => socket.send(JSON.stringify({ type: "connection_init" }));
      socket.onmessage = (m) => {
        const frame = JSON.parse(m.data);
        frames.push(frame);
        const authorization = { host: location.host, Authorization: acme };
        if (frame.type === "connection_ack") {
          socket.send(JSON.stringify({ type: "subscribe", id: "other", channel: "/whatsapp/globex", authorization }));
        } else if (frame.id === "other") {
          socket.send(JSON.stringify({ type: "publish", id: "pub", channel: "/whatsapp/acme", events: [JSON.stringify({ type: "message" })], authorization }));
        } else if (frame.id === "pub") {
          resolve();
        }
      };
    });
    socket.close();
    return frames.map((f) => [f.type, f.errors ? f.errors[0].errorType : null]);
  }, { acme: runner.token("acme") });
  assert.deepEqual(outcome, [
    ["connection_ack", null],
    ["subscribe_error", "UnauthorizedException"],
    ["publish_error", "UnauthorizedException"],
  ]);
});

test("with push not configured the page polls as before", async (t) => {
  const { runner, page, problems } = await session(t, { page: { config: { live: false } } });
  const requests = countConversationRequests(page);
  await selectContact(page, "Ben Ong");
  assert.equal(await liveState(page), "off");
  assert.equal(await page.locator("#live-status").isHidden(), true);
  await runner.reply("acme", BEN, { body: "Polled in" });
  await message(page, "Polled in", "RECEIVED").waitFor();
  assert.ok(requests.polls >= 1);
  assertClean(assert, problems);
});

const tokenNow = (page) => page.evaluate(async () => (await import("/api.js")).currentToken());
const refused = async (runner, token) => (await fetch(`${runner.base}/whatsapp/channel`, { headers: { Authorization: `Bearer ${token}` } })).status;

test("a tab open all day takes fresh tokens before each lapses: calls and push go on", async (t) => {
  // Tokens live 6 s here (12 hours by default): the page renews each halfway.
  const { runner, page, problems } = await session(t, { runner: { env: { DEMO_TOKEN_TTL_SECONDS: "6" } } });
  await waitLive(page, "up");
  const first = await tokenNow(page);
  await open(page, "Ben Ong", "c-ben");
  // Past the first token's lapse (the runner also ends a live connection when its token does).
  await page.waitForTimeout(7500);
  assert.equal(await refused(runner, first), 401, "the first token has lapsed");
  const now = await tokenNow(page);
  assert.notEqual(now, first);
  assert.equal(await refused(runner, now), 200, "the page holds a valid token");
  assert.equal(await liveState(page), "up");
  await runner.reply("acme", BEN, { body: "Still there?" });
  await message(page, "Still there?", "RECEIVED").waitFor();
  await send(page, "Yes, all day");
  await message(page, "Yes, all day", "READ").waitFor();
  assert.equal(await page.locator("#channel-status").textContent(), "");
  assertClean(assert, problems);
});

test("with the CRM's token getter: a refused call takes its fresh token once; without one the agent is asked to sign in", async (t) => {
  const runner = await startRunner({ env: { DEMO_TOKEN_TTL_SECONDS: "5" } });
  t.after(() => runner.stop());
  const { page, context, problems } = await openPage(browser(), runner, {
    config: { token: "session", tokenKey: "crm.id_token", live: false, pollMs: 700 },
    sessionToken: runner.token("acme"),
  });
  t.after(() => context.close());
  // The CRM provides its getter; it has no newer token yet.
  await page.evaluate(() => {
    window.crmToken = null;
    window.WHATSAPP_CONFIG.getToken = async () => window.crmToken;
  });
  await selectContact(page, "Aisha Rahman");
  // The token lapses and the CRM has none: only now is the agent asked to sign in.
  await page.locator("#channel-status", { hasText: "Your sign-in has expired. Sign in to the CRM again." }).waitFor({ timeout: 10_000 });
  await checkpoint(page, "50-signed-out");

  // The agent signs in to the CRM again: the next call is refused once, then goes with it.
  const fresh = (await (await fetch(`${runner.base}/local/demo`)).json()).organizations.find((o) => o.organization_id === "acme").token;
  await page.evaluate((token) => {
    window.crmToken = token;
  }, fresh);
  await send(page, "Sent after signing in again");
  await message(page, "Sent after signing in again", "SENT").waitFor();
  assert.equal(await tokenNow(page), fresh);

  // A token of another agent is never taken for this one.
  const other = (await (await fetch(`${runner.base}/local/demo`)).json()).organizations.find((o) => o.organization_id === "acme").agents[1].token;
  const taken = await page.evaluate(async (token) => {
    window.crmToken = token;
    const { renewToken } = await import("/actions/session.js");
    return renewToken();
  }, other);
  assert.equal(taken, null);
  assert.equal(await tokenNow(page), fresh);
  assertClean(assert, problems, [/status of 401/]);
});
