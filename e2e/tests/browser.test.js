// The reference consent page in a real browser: Debian's Chromium, headless, driven by
// Playwright. A user signs in, sees the client and the scopes, and approves or denies; the
// browser ends at the client's redirect URI with a code or access_denied.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { FRONT, createClient, pkce, postForm, sql, launchChromium } from "./helpers.js";

let browser, callbackServer, callbackUrl;
const received = [];

before(async () => {
  // The client's redirect URI: a loopback server that records what arrives.
  callbackServer = createServer((req, res) => {
    received.push(new URL(req.url, "http://127.0.0.1"));
    res.end("<h1>callback</h1>");
  });
  await new Promise((r) => callbackServer.listen(0, "127.0.0.1", r));
  callbackUrl = `http://127.0.0.1:${callbackServer.address().port}/callback`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  callbackServer?.close();
});

async function startFlow(page, scope) {
  const c = createClient({ name: "Browser Test App", redirect: "http://127.0.0.1/callback" });
  const p = pkce();
  const q = new URLSearchParams({ response_type: "code", client_id: c.client_id, redirect_uri: callbackUrl,
    scope, state: "st-" + Math.random(), code_challenge: p.challenge, code_challenge_method: "S256" });
  await page.goto(`${FRONT}/oauth/authorize?${q}`);
  return q.get("state");
}

test("sign in and approve: the browser lands on the client with a code", async () => {
  const page = await browser.newPage();
  const state = await startFlow(page, "openid email");
  await page.fill("#username", "frank");
  await page.click("#signin-button");
  await page.waitForSelector("#consent:not([hidden])");
  assert.equal(await page.textContent("#client-name"), "Browser Test App");
  const scopes = await page.textContent("#scopes");
  assert.match(scopes, /openid/);
  assert.match(scopes, /email/);
  await Promise.all([page.waitForURL(/\/callback\?/), page.click("#approve")]);
  const url = new URL(page.url());
  assert.ok(url.searchParams.get("code"));
  assert.equal(url.searchParams.get("state"), state);
  assert.equal(url.searchParams.get("iss"), FRONT);
  // (The browser may also ask the callback server for /favicon.ico.)
  const atClient = received.filter((u) => u.pathname === "/callback").at(-1);
  assert.equal(atClient.searchParams.get("code"), url.searchParams.get("code"));
  await page.close();
});

test("deny: the browser lands on the client with access_denied", async () => {
  const page = await browser.newPage();
  const state = await startFlow(page, "openid");
  await page.fill("#username", "grace");
  await page.click("#signin-button");
  await page.waitForSelector("#consent:not([hidden])");
  await Promise.all([page.waitForURL(/\/callback\?/), page.click("#deny")]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get("error"), "access_denied");
  assert.equal(url.searchParams.get("state"), state);
  assert.equal(url.searchParams.get("code"), null);
  await page.close();
});

test("device flow: the user types the code on the consent page and approves; the device gets tokens", async () => {
  const c = JSON.parse(sql(`SELECT oauth.create_client('Living room TV', ARRAY[]::text[], 'public',
    grant_types => ARRAY['urn:ietf:params:oauth:grant-type:device_code'])`));
  const d = await (await postForm("/oauth/device_authorization", { client_id: c.client_id, scope: "openid" })).json();
  const page = await browser.newPage();
  await page.goto(d.verification_uri); // no code in the URL: the page asks for it
  await page.fill("#username", "heidi");
  await page.click("#signin-button");
  await page.waitForSelector("#code:not([hidden])");
  await page.fill("#user-code", d.user_code.toLowerCase());
  await page.click("#code-button");
  await page.waitForSelector("#consent:not([hidden])");
  assert.equal(await page.textContent("#client-name"), "Living room TV");
  assert.equal(await page.isHidden("#redirect-line"), true);
  await page.click("#approve");
  await page.waitForFunction(() => document.getElementById("message").textContent.includes("return to your device"));
  await page.close();
  const res = await postForm("/oauth/token", {
    grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: d.device_code, client_id: c.client_id,
  });
  assert.equal(res.status, 200);
  const idToken = (await res.json()).id_token;
  assert.equal(JSON.parse(Buffer.from(idToken.split(".")[1], "base64url")).sub, "heidi");
});

test("prompt=none in a browser with no session shows nothing and returns login_required", async () => {
  const page = await browser.newPage();
  const c = createClient({ name: "Silent App", redirect: "http://127.0.0.1/callback" });
  const p = pkce();
  const q = new URLSearchParams({ response_type: "code", client_id: c.client_id, redirect_uri: callbackUrl,
    scope: "openid", state: "silent-1", prompt: "none", code_challenge: p.challenge, code_challenge_method: "S256" });
  await Promise.all([page.waitForURL(/\/callback\?/), page.goto(`${FRONT}/oauth/authorize?${q}`)]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get("error"), "login_required");
  assert.equal(url.searchParams.get("state"), "silent-1");
  assert.equal(url.searchParams.get("iss"), FRONT);
  await page.close();
});
