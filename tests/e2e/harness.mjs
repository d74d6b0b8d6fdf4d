// What every browser test needs: a fresh local runner (in-process stores, Twilio sandbox), a
// headless Debian Chromium driven by playwright-core, and helpers that talk to the runner the
// way a second person (the contact, a fault injector) would.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "../..");
export const screenshots = path.join(here, "screenshots");
const localBin = process.env.LOCAL_BIN || path.join(root, "target/debug/local");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

/** Long enough for the worker, three sandbox callbacks and a poll, short enough to fail fast. */
export const TIMEOUT = 15_000;

/** Starts `local` on a free port; `seed` (an object) replaces the bundled demo data. */
export async function startRunner({ seed, env = {} } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "whatsapp-e2e-"));
  const args = ["--port", "0", "--web", path.join(root, "web")];
  if (seed) {
    const file = path.join(dir, "seed.json");
    writeFileSync(file, JSON.stringify(seed));
    args.push("--seed", file);
  }
  const child = spawn(localBin, args, {
    env: {
      ...process.env,
      // Quick retries so the "Twilio answers 500" path settles within a test.
      SEND_RETRY_BASE_MS: "200",
      LOCAL_BACKEND: "memory",
      // The tests' own start: the seed without its played history.
      LOCAL_HISTORY: "off",
      RUST_LOG: process.env.RUST_LOG || "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local runner did not start:\n${log}`)), 30_000);
    const read = (chunk) => {
      log += chunk;
      // The banner's last line says how to stop it: by then every token line is in.
      const found = /running at (http\S+)[\s\S]*Ctrl-C stops it/.exec(log);
      if (found) {
        clearTimeout(timer);
        resolve(found[1].replace(/\/$/, ""));
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => reject(new Error(`local runner exited (${code}):\n${log}`)));
    child.on("error", reject);
  });
  // With real Twilio the runner serves no demo users: its terminal lists the tokens.
  const served = await fetch(`${base}/local/demo`);
  const demo = served.ok ? await served.json() : { organizations: printedTokens(log) };
  const token = (id) => demo.organizations.find((o) => o.organization_id === id).token;
  return {
    base,
    demo,
    token,
    log: () => log,
    async stop() {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
    /** The contact writes to the organization's sender through the sandbox. */
    async reply(organization_id, from, body) {
      const response = await fetch(`${base}/sandbox/reply`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ organization_id, from, ...body }),
      });
      if (!response.ok) throw new Error(`sandbox reply: ${response.status} ${await response.text()}`);
    },
    async fault(fault) {
      const response = await fetch(`${base}/sandbox/faults`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(fault),
      });
      if (response.status !== 201) throw new Error(`sandbox fault: ${response.status} ${await response.text()}`);
    },
    /** Fails in-process store operations: `{store, operation, times, after?}`. */
    async storeFault(fault) {
      const response = await fetch(`${base}/local/store-faults`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(fault),
      });
      if (response.status !== 204) throw new Error(`store fault: ${response.status} ${await response.text()}`);
    },
    /** Drops the open live connections and refuses the next ones: `{drop?, refuse?}`. */
    async liveFault(fault) {
      const response = await fetch(`${base}/local/live-faults`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(fault),
      });
      if (response.status !== 204) throw new Error(`live fault: ${response.status} ${await response.text()}`);
    },
    /** The CRM writes a contact whole (the runner's `PUT /local/contacts/{id}`, the seed's contact format). */
    async putContact(organization_id, contact_id, contact) {
      const response = await fetch(`${base}/local/contacts/${contact_id}`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${token(organization_id)}`, "Content-Type": "application/json" },
        body: JSON.stringify(contact),
      });
      if (!response.ok) throw new Error(`put contact: ${response.status} ${await response.text()}`);
    },
    /** The CRM deletes a contact (the runner's `DELETE /local/contacts/{id}`). */
    async deleteContact(organization_id, contact_id) {
      const response = await fetch(`${base}/local/contacts/${contact_id}`, {
        method: "DELETE",
        headers: { Authorization: `Bearer ${token(organization_id)}` },
      });
      if (response.status !== 204) throw new Error(`delete contact: ${response.status} ${await response.text()}`);
    },
    /** Calls the API as the organization's demo user. */
    async api(organization_id, method, route, body) {
      const response = await fetch(`${base}${route}`, {
        method,
        headers: { Authorization: `Bearer ${token(organization_id)}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
  };
}

/** The organizations and tokens the runner printed at start (`  acme     on    token demo.…`). */
function printedTokens(log) {
  return [...log.matchAll(/^\s+(\S+)\s+(on|off)\s+token (\S+)$/gm)].map(([, organization_id, , token]) => ({
    organization_id,
    token,
  }));
}

/**
 * A fresh runner and page for one test, both closed whatever the outcome.
 * `options.runner` goes to startRunner, `options.page` to openPage.
 */
export async function openSession(browser, t, options = {}) {
  const runner = await startRunner(options.runner);
  t.after(() => runner.stop());
  const opened = await openPage(browser, runner, options.page);
  t.after(() => opened.context.close());
  return { runner, ...opened };
}

/**
 * One headless Chromium for the calling test file (launched before its tests, closed after):
 * `session(t, options)` gives a test its own runner and page; `browser()` the browser itself.
 */
export function useBrowser() {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  return { session: (t, options) => openSession(browser, t, options), browser: () => browser };
}

/** One headless Chromium for a test file; every test gets its own context. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/**
 * Opens the Send Message page. `config` overrides web/config.js (the page keeps a
 * WHATSAPP_CONFIG that exists before it loads); polling is quicker than the shipped 3 s so the
 * tests stay short. `ready` waits for the contact list. Console errors and page errors are collected for `assertClean`; dialogs
 * (an injected `alert`) are recorded and dismissed.
 */
export async function openPage(
  browser,
  runner,
  { config = {}, viewport = { width: 1280, height: 860 }, sessionToken, ready = true, path: pagePath = "/", init } = {},
) {
  const context = await browser.newContext({ viewport });
  // `init`: a script of the test's own, run before the page's (a benchmark's observer).
  if (init) await context.addInitScript(init);
  // `config: null` keeps the shipped web/config.js as it is.
  if (config !== null) {
    await context.addInitScript((cfg) => {
      window.WHATSAPP_CONFIG = cfg;
    }, { apiBaseUrl: "", token: "local-demo", pollMs: 700, hiddenPollMs: 5000, ...config });
  }
  // What the CRM's sign-in leaves behind for a page deployed with token: "session".
  if (sessionToken) {
    await context.addInitScript((token) => sessionStorage.setItem("crm.id_token", token), sessionToken);
  }
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems = { console: [], errors: [], dialogs: [], failedRequests: [] };
  // Chromium's console line names no URL; this says which request a 4xx/5xx answered.
  page.on("response", (response) => {
    if (response.status() >= 400) {
      problems.failedRequests.push(`${response.status()} ${response.request().method()} ${response.url()}`);
    }
  });
  page.on("console", (message) => {
    if (message.type() === "error") problems.console.push(message.text());
  });
  page.on("pageerror", (error) => problems.errors.push(String(error)));
  page.on("dialog", async (dialog) => {
    problems.dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  await page.goto(`${runner.base}${pagePath}`);
  if (ready) await page.locator("#conversation-list li, #contact-list li").first().waitFor();
  return { page, context, problems };
}

/**
 * No script errors, no dialogs, and no console errors but the ones a test provoked on purpose
 * (Chromium logs every 4xx answer as "Failed to load resource"; `expected` lists those).
 */
export function assertClean(assert, problems, expected = []) {
  assert.deepEqual(problems.errors, [], "no page errors");
  assert.deepEqual(problems.dialogs, [], "no dialogs");
  const unexpected = problems.console.filter((text) => !expected.some((pattern) => pattern.test(text)));
  assert.deepEqual(unexpected, [], `no console errors (answers >= 400: ${problems.failedRequests.join("; ")})`);
}

export async function screenshot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

/** A contact in the left panel: among the recent conversations, or the other contacts. */
export function contact(page, name) {
  return page.locator("#conversation-list li:visible, #contact-list li:visible", { hasText: name });
}

export async function selectContact(page, name) {
  await contact(page, name).click();
  await page.locator("#conversation-title", { hasText: name }).waitFor();
  await page.locator("#messages .empty, #messages article").first().waitFor();
  await page.waitForFunction(() => !document.querySelector("#messages .empty")?.textContent.includes("Loading"));
}

/** The conversation's message whose text is exactly `text` (optionally in a given status). */
export function message(page, text, status) {
  const selector = status ? `article.message[data-status="${status}"]` : "article.message";
  return page.locator(selector).filter({ has: page.locator(".text", { hasText: text }) });
}

export async function send(page, text) {
  await page.locator("#message-text").fill(text);
  await page.locator("#message-text").press("Enter");
}

export async function texts(locator) {
  return locator.evaluateAll((nodes) => nodes.map((n) => n.textContent));
}

const AXE = path.join(path.dirname(fileURLToPath(import.meta.url)), "node_modules/axe-core/axe.min.js");

/**
 * axe-core's WCAG 2.2 A/AA rules over the page as it stands (the local runner's sandbox panel,
 * no part of the deployed page, left out): what they report, as "rule: target" lines.
 */
export async function accessibilityProblems(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(
      { exclude: [["#sandbox-panel"]] },
      { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] }, resultTypes: ["violations"] },
    );
    return result.violations.map((v) => ({ id: v.id, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")) }));
  });
  return violations.flatMap((v) => v.targets.map((target) => `${v.id}: ${target} (${v.help})`));
}

/**
 * A state of the page worth keeping: its picture (screenshots/NAME.png) and axe-core's WCAG
 * 2.2 A/AA rules over it, which must report nothing.
 */
export async function checkpoint(page, name) {
  await screenshot(page, name);
  const problems = await accessibilityProblems(page);
  if (problems.length) throw new Error(`axe-core reports at ${name}:\n${problems.join("\n")}`);
}
