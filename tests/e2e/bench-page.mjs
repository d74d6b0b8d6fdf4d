// The page's benchmark (run by scripts/bench.sh; not a test): in headless Chromium against
// the local runner, with 5,000 conversations in the organization and one conversation of
// 1,000 messages (photos among them): the load until the inbox is drawn, and opening that
// conversation until its newest message is on screen. Prints the medians and writes
// bench/page-results.json.
//
//   LOCAL_BIN=target/release/local node tests/e2e/bench-page.mjs
//   PAGE_BENCH_CONVERSATIONS, PAGE_BENCH_MESSAGES, PAGE_BENCH_ROUNDS: smaller runs (the test
//   command's smoke); PAGE_BENCH_OUT: where the JSON goes.

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { launchBrowser, openPage, root, startRunner } from "./harness.mjs";

const CONVERSATIONS = Number(process.env.PAGE_BENCH_CONVERSATIONS || 5000);
const MESSAGES = Number(process.env.PAGE_BENCH_MESSAGES || 1000);
const ROUNDS = Number(process.env.PAGE_BENCH_ROUNDS || 20);
const BIG = "c-big";
const BIG_PHONE = "+447911199999";

/** The bundled seed's configured organization, with 5,000 contacts and the big one. */
function seed() {
  const bundled = JSON.parse(readFileSync(path.join(root, "local/seed.json"), "utf8"));
  const acme = bundled.organizations.find((o) => o.organization_id === "acme");
  const contacts = Array.from({ length: CONVERSATIONS }, (_, i) => ({
    contact_id: `c-${String(i).padStart(5, "0")}`,
    name: `Customer ${String(i).padStart(5, "0")}`,
    phone_number: `+4479110${String(i).padStart(5, "0")}`,
    whatsapp_opt_in: true,
    last_inbound_minutes_ago: 60,
  }));
  contacts.push({ contact_id: BIG, name: "Bianca Long", phone_number: BIG_PHONE, whatsapp_opt_in: true, last_inbound_minutes_ago: 5 });
  return { organizations: [{ ...acme, contacts, history: [] }] };
}

/** Runs `job(i)` for i in 0..n, `width` at a time. */
async function pool(n, width, job) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await job(next++);
  }));
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median_ms: Math.round(at(0.5)), p95_ms: Math.round(at(0.95)), rounds: sorted.length };
}

const runner = await startRunner({ seed: seed(), env: { RUST_LOG: "error" } });
const browser = await launchBrowser();
try {
  const started = Date.now();
  // Each contact writes once: 5,000 conversations in the inbox.
  await pool(CONVERSATIONS, 8, (i) => runner.reply("acme", `+4479110${String(i).padStart(5, "0")}`, { body: `Hello from customer ${i}` }));
  // The big conversation last (the most recent): the contact's messages, one in ten a photo,
  // and the agent's answers.
  const answers = Math.round(MESSAGES / 5);
  for (let i = 0; i < MESSAGES - answers; i += 1) {
    await runner.reply("acme", BIG_PHONE, i % 10 === 9 ? { body: `Photo ${i}`, media: "image" } : { body: `Message ${i} of a long conversation` });
    if (i % 4 === 3 && i / 4 < answers) {
      const sent = await runner.api("acme", "POST", "/whatsapp/messages", { contact_id: BIG, text: `Answer ${i}` });
      if (sent.status !== 202) throw new Error(`send: ${sent.status} ${JSON.stringify(sent.body)}`);
    }
  }
  const listed = await runner.api("acme", "GET", `/whatsapp/messages?contact_id=${BIG}&limit=100`);
  const newest = listed.body.messages.at(-1).id;
  // Read up to its newest: it opens at the newest message (an unread one opens at its divider).
  const upTo = listed.body.messages.filter((m) => m.direction === "INBOUND").at(-1).id;
  const read = await runner.api("acme", "POST", `/whatsapp/conversations/${BIG}/read`, { up_to: upTo });
  if (read.status !== 200) throw new Error(`read: ${read.status}`);
  console.log(`seeded ${CONVERSATIONS} conversations and ${MESSAGES} messages in ${Math.round((Date.now() - started) / 1000)} s`);

  const load = [];
  const open = [];
  for (let round = 0; round < ROUNDS + 1; round += 1) {
    // As deployed: the CRM's token in sessionStorage (no demo users, no sandbox panel).
    const { page, context } = await openPage(browser, runner, {
      init: () => {
        const watch = new MutationObserver(() => {
          if (document.querySelector("#conversation-list li")) {
            window.inboxDrawnAt = performance.now();
            watch.disconnect();
          }
        });
        watch.observe(document, { childList: true, subtree: true });
      },
      config: { token: "session", tokenKey: "crm.id_token", inboxSafetyMs: 600000 },
      sessionToken: runner.token("acme"),
      viewport: { width: 1280, height: 800 },
      ready: false,
    });
    // Load: navigation start until the inbox's first row is drawn (the moment the page
    // inserts it, seen by a MutationObserver set up before the page's own scripts).
    await page.locator("#conversation-list li").first().waitFor();
    const loaded = await page.evaluate(() => window.inboxDrawnAt);
    // PAGE_BENCH_TRACE=1: what the first counted load fetched, when and for how long.
    if (process.env.PAGE_BENCH_TRACE && round === 1) {
      console.log(await page.evaluate(() => performance.getEntriesByType("resource").map((e) => `${Math.round(e.startTime)}+${Math.round(e.duration)} ${e.name.replace(location.origin, "")}`).join("\n")));
      console.log(`inbox drawn at ${Math.round(loaded)}; DOMContentLoaded at ${Math.round(await page.evaluate(() => performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd))}`);
    }
    // Opening: the click until the newest message is on screen.
    const opened = await page.evaluate(async ({ id, contact }) => {
      const row = document.querySelector(`#conversation-list li[data-id="${contact}"]`);
      const t0 = performance.now();
      row.click();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (performance.now() - t0 > 10000) return reject(new Error("the newest message never came on screen"));
          const bubble = document.querySelector(`#messages article[data-id="${id}"]`);
          const pane = document.getElementById("messages").getBoundingClientRect();
          if (bubble) {
            const r = bubble.getBoundingClientRect();
            if (r.top >= pane.top && r.bottom <= pane.bottom + 1) return resolve(performance.now() - t0);
          }
          requestAnimationFrame(check);
        };
        check();
      });
    }, { id: newest, contact: BIG });
    await context.close();
    // The first round warms the runner's and the browser's caches: not counted.
    if (round === 0) continue;
    load.push(loaded);
    open.push(opened);
  }
  const results = {
    conversations: CONVERSATIONS,
    messages_in_conversation: MESSAGES,
    viewport: "1280x800",
    load_to_inbox_drawn: stats(load),
    open_conversation_to_newest_on_screen: stats(open),
  };
  writeFileSync(process.env.PAGE_BENCH_OUT || path.join(root, "bench/page-results.json"), `${JSON.stringify(results, null, 2)}\n`);
  const row = (label, s) => `${label.padEnd(52)}${String(s.median_ms).padStart(5)} ms ${String(s.p95_ms).padStart(5)} ms`;
  console.log(`${`page, headless Chromium, ${CONVERSATIONS} conversations`.padEnd(52)}   median     p95`);
  console.log(row("load, until the inbox is drawn", results.load_to_inbox_drawn));
  console.log(row(`open a ${MESSAGES}-message conversation, newest shown`, results.open_conversation_to_newest_on_screen));
} finally {
  await browser.close();
  await runner.stop();
}
