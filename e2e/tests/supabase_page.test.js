// The Supabase-style consent page (examples/supabase-consent), which talks to the server only
// through supabase-js, in headless Chromium: a front of its own on a database of its own whose
// consent URL is that page, served from another origin. Sign in, allow, come back consented,
// deny.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { nextFrontBase, pkce, sql, startFront, launchChromium } from "./helpers.js";

const DB = "supabase_page";
const page_html = readFileSync(new URL("../../examples/supabase-consent/index.html", import.meta.url), "utf8");
const supabase_js = readFileSync(new URL("../node_modules/@supabase/supabase-js/dist/umd/supabase.js", import.meta.url));
let browser, front, pageServer, callbackServer, callbackUrl, client;
const psqlArgs = (process.env.PSQL_ARGS ?? "").replace(/-d \S+/, `-d ${DB}`);

function sqlIn(query) {
  const saved = process.env.PSQL_ARGS;
  process.env.PSQL_ARGS = psqlArgs;
  try { return sql(query); } finally { process.env.PSQL_ARGS = saved; }
}

const listen = (server) => new Promise((r) => server.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${server.address().port}`)));

before(async () => {
  const base = nextFrontBase();
  // The page, with the front's URL in its meta tag, and supabase-js's UMD build beside it.
  pageServer = createServer((req, res) => {
    if (req.url.startsWith("/supabase.js")) {
      res.writeHead(200, { "content-type": "text/javascript" });
      return res.end(supabase_js);
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page_html.replace('content="http://127.0.0.1:8080"', `content="${base}"`));
  });
  const pageBase = await listen(pageServer);
  callbackServer = createServer((req, res) => res.end("<h1>callback</h1>"));
  callbackUrl = (await listen(callbackServer)) + "/callback";
  sql(`DROP DATABASE IF EXISTS ${DB}`);
  sql(`CREATE DATABASE ${DB}`);
  sqlIn(`CREATE EXTENSION oauth_server;
    ALTER DATABASE ${DB} SET oauth_server.issuer = '${base}';
    ALTER DATABASE ${DB} SET oauth_server.consent_url = '${pageBase}/';`);
  client = JSON.parse(sqlIn(`SELECT oauth.create_client('Page Test App', ARRAY['http://127.0.0.1/callback'])`));
  const dsn = (process.env.DATABASE_URL ?? "").replace(/dbname=\S+/, `dbname=${DB}`);
  front = await startFront(["--demo-login", "--public-url", base], { DATABASE_URL: dsn });
  assert.equal(front.base, base);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  front?.stop();
  pageServer?.close();
  callbackServer?.close();
});

function authorizeUrl(scope, verifier) {
  const p = pkce();
  verifier.value = p.verifier;
  return `${front.base}/auth/v1/oauth/authorize?` + new URLSearchParams({ response_type: "code",
    client_id: client.client_id, redirect_uri: callbackUrl, scope, state: "page-state",
    code_challenge: p.challenge, code_challenge_method: "S256" });
}

test("sign in, allow, come back consented, deny: all through supabase-js in the page", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const verifier = {};
  await page.goto(authorizeUrl("openid email", verifier));
  await page.waitForSelector("#signin:not([hidden])");
  await page.fill("#username", "pat");
  await page.click("#signin-button");
  await page.waitForSelector("#consent:not([hidden])");
  assert.equal(await page.textContent("#client-name"), "Page Test App");
  assert.equal(await page.textContent("#user"), "pat@example.com");
  assert.match(await page.textContent("#scopes"), /email/);
  await Promise.all([page.waitForURL(/\/callback\?/), page.click("#approve")]);
  const back = new URL(page.url());
  assert.equal(back.searchParams.get("state"), "page-state");
  const tokens = await fetch(`${front.base}/auth/v1/oauth/token`, { method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded",
      authorization: "Basic " + Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64") },
    body: new URLSearchParams({ grant_type: "authorization_code", code: back.searchParams.get("code"),
      code_verifier: verifier.value, redirect_uri: callbackUrl }) });
  assert.equal(tokens.status, 200);
  assert.ok((await tokens.json()).id_token);

  // The same request again, in the same tab: the session is still there and the earlier
  // consent covers it, so the page sends the browser straight back with a code.
  const firstCode = back.searchParams.get("code");
  const anotherCallback = (u) => u.pathname === "/callback" && u.searchParams.get("code") !== firstCode;
  await page.goto(authorizeUrl("openid email", verifier));
  await page.waitForURL(anotherCallback);
  assert.ok(new URL(page.url()).searchParams.get("code"));

  // More than was allowed: asked again, and denied.
  await page.goto(authorizeUrl("openid email profile", verifier));
  await page.waitForSelector("#consent:not([hidden])");
  await Promise.all([page.waitForURL((u) => u.searchParams.has("error")), page.click("#deny")]);
  assert.equal(new URL(page.url()).searchParams.get("error"), "access_denied");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a session token planted in the page's fragment is not taken (login CSRF)", async () => {
  const planted = await (await fetch(`${front.base}/demo/session`, { method: "POST",
    headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "mallory" }) })).json();
  const page = await browser.newPage();
  const res = await fetch(authorizeUrl("openid", {}), { redirect: "manual" });
  await page.goto(res.headers.get("location") + "#session_token=" + planted.session_token);
  await page.waitForSelector("#signin:not([hidden])");
  assert.equal(new URL(page.url()).hash, "");
  await page.close();
});
