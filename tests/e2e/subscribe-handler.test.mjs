// The Event API namespace's subscribe handler, exactly as template.yaml deploys it (its
// `CodeHandlers`, with the OrganizationClaim parameter filled in), run with node against
// allowed and refused subscriptions. `util.unauthorized()` ends the handler in AppSync's
// runtime; here it throws, and a refusal is that throw.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import { root } from "./harness.mjs";

const CLAIM = "custom:organization_id";

/** The block scalar under `CodeHandlers: !Sub |` in the template. */
function deployedHandler() {
  const lines = readFileSync(path.join(root, "template.yaml"), "utf8").split("\n");
  const start = lines.findIndex((l) => /^\s+CodeHandlers: !Sub \|\s*$/.test(l));
  assert.ok(start > 0, "the namespace has inline code handlers");
  const keyIndent = lines[start].search(/\S/);
  const body = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() && line.search(/\S/) <= keyIndent) break;
    body.push(line);
  }
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.search(/\S/)));
  return body.map((l) => l.slice(indent)).join("\n");
}

const dir = mkdtempSync(path.join(tmpdir(), "subscribe-handler-"));
after(() => rmSync(dir, { recursive: true, force: true }));

class Unauthorized extends Error {}

async function loadHandler() {
  let code = deployedHandler().replaceAll("${OrganizationClaim}", CLAIM);
  assert.ok(!code.includes("${"), "every !Sub variable is a template parameter");
  assert.match(code, /from '@aws-appsync\/utils'/);
  // AppSync's runtime module, as the handler uses it.
  code = code.replace(/import \{ util \} from '@aws-appsync\/utils';/, "const util = globalThis.__appsyncUtil;");
  const file = path.join(dir, "handler.mjs");
  writeFileSync(file, code);
  globalThis.__appsyncUtil = {
    unauthorized() {
      throw new Unauthorized("Unauthorized");
    },
  };
  return import(pathToFileURL(file).href);
}

/** An onSubscribe context as AppSync builds it for an OIDC subscriber. */
function context(channelPath, claims) {
  return {
    identity: claims === null ? null : { claims, issuer: "https://issuer.example", sub: "user-1" },
    info: {
      channel: { path: channelPath, segments: channelPath.split("/").filter(Boolean) },
      channelNamespace: { name: "whatsapp" },
      operation: "SUBSCRIBE",
    },
    request: { headers: {}, domainName: null },
    events: null,
    stash: {},
  };
}

function allowed(handler, channelPath, claims) {
  try {
    handler.onSubscribe(context(channelPath, claims));
    return true;
  } catch (e) {
    if (e instanceof Unauthorized) return false;
    throw e;
  }
}

test("the deployed subscribe handler lets a user subscribe to its own organization's channel only", async () => {
  const handler = await loadHandler();
  assert.equal(typeof handler.onSubscribe, "function");
  assert.equal(handler.onPublish, undefined, "publishing is left to IAM alone");
  assert.equal(allowed(handler, "/whatsapp/acme", { [CLAIM]: "acme", sub: "user-1" }), true);
  assert.equal(allowed(handler, "/whatsapp/Org-2b", { [CLAIM]: "Org-2b" }), true);
  assert.equal(allowed(handler, `/whatsapp/${"a".repeat(50)}`, { [CLAIM]: "a".repeat(50) }), true);
  const refused = [
    ["/whatsapp/globex", { [CLAIM]: "acme" }, "another organization"],
    ["/whatsapp/*", { [CLAIM]: "acme" }, "every organization"],
    ["/whatsapp/acme/*", { [CLAIM]: "acme" }, "a subtree"],
    ["/whatsapp/acme/extra", { [CLAIM]: "acme" }, "a deeper channel"],
    ["/whatsapp/acme", {}, "no organization claim"],
    ["/whatsapp/acme", { "custom:org": "acme" }, "another claim's value"],
    ["/whatsapp/*", { [CLAIM]: "*" }, "a wildcard claim"],
    ["/whatsapp/", { [CLAIM]: "" }, "an empty claim"],
    ["/whatsapp/acme", { [CLAIM]: ["acme"] }, "a claim that is no string"],
    ["/whatsapp/acme", null, "no identity (not an OIDC subscriber)"],
    ["/other/acme", { [CLAIM]: "acme" }, "another namespace"],
    // Organization ids that are no channel segment (shared::live::is_channel_segment).
    ["/whatsapp/org_2", { [CLAIM]: "org_2" }, "an underscore"],
    [`/whatsapp/${"a".repeat(51)}`, { [CLAIM]: "a".repeat(51) }, "more than 50 characters"],
    ["/whatsapp/-acme", { [CLAIM]: "-acme" }, "a dash first"],
    ["/whatsapp/acme-", { [CLAIM]: "acme-" }, "a dash last"],
    ["/whatsapp/ac me", { [CLAIM]: "ac me" }, "a space"],
  ];
  for (const [channelPath, claims, why] of refused) {
    assert.equal(allowed(handler, channelPath, claims), false, `${why}: ${channelPath}`);
  }
});
