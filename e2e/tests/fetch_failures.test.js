// A newcomer never guesses a flag (issue 31): what the front cannot fetch says why, in the
// answer and in the log, and names the flag that would change it. A sign-in provider on
// loopback without --allow-private-fetch, or behind a private CA without --fetch-ca-file, is a
// 502 page without Retry-After (no retry cures it), not a 503 "not fetched yet"; one that may
// come back (connection refused) is a 503 whose Retry-After is the wait until the next fetch.
// Client metadata documents answer 400 invalid_client with the cause (TLS, address, https,
// status, size, not JSON, timeout); trusted issuers' keys log theirs. A --public-url that is
// not oauth_server.issuer stops the front at start-up.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { FRONT, REDIRECT, createClient, pkce, sql, startFront } from "./helpers.js";

const skip = !process.env.FRONT_BIN && "FRONT_BIN not set";
const skipTls = skip || (!process.env.TLS_CERT && "TLS_CERT not set");
const TAG = randomBytes(3).toString("hex");
const added = []; // sign-in providers and issuers to remove after the file

// A stand-in upstream, over http and (with the stack's certificate, from its throwaway CA)
// over https: a discovery document under /ok, 404 under /missing, text under /text, 20 kB
// under /large, nothing at all under /silent. Counts what it was asked.
const asked = [];
function answer(req, res) {
  const path = new URL(req.url, "http://x").pathname;
  asked.push(path);
  if (path.startsWith("/silent")) return; // never answers
  if (path.startsWith("/missing")) return res.writeHead(404).end();
  if (path.startsWith("/text")) return res.writeHead(200, { "content-type": "text/plain" }).end("hello");
  if (path.startsWith("/large")) {
    return res.writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ padding: "x".repeat(20_000) }));
  }
  res.writeHead(200, { "content-type": "application/json" }).end("{}");
}
let plain, secure, PLAIN, SECURE, closedPort;
let noFlags, privateNoCa, privateWithCa;

before(async () => {
  if (skip) return;
  plain = http.createServer(answer);
  await new Promise((r) => plain.listen(0, "127.0.0.1", r));
  PLAIN = `http://127.0.0.1:${plain.address().port}`;
  if (process.env.TLS_CERT) {
    secure = https.createServer({ cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY) }, answer);
    await new Promise((r) => secure.listen(0, "127.0.0.1", r));
    SECURE = `https://127.0.0.1:${secure.address().port}`;
  }
  // A port nothing listens on: connections are refused.
  const probe = http.createServer();
  await new Promise((r) => probe.listen(0, "127.0.0.1", r));
  closedPort = probe.address().port;
  await new Promise((r) => probe.close(r));
  noFlags = await startFront([]);
  privateNoCa = await startFront(["--allow-private-fetch"]);
  const ca = process.env.TLS_CERT?.replace(/tls\.crt$/, "ca.crt");
  privateWithCa = ca ? await startFront(["--allow-private-fetch", "--fetch-ca-file", ca]) : null;
});

after(() => {
  for (const [kind, name] of added) {
    if (kind === "provider") sql("SELECT oauth.remove_sign_in_provider(:'p1')", name);
    else sql("SELECT oauth.remove_issuer(:'p1')", name);
  }
  for (const f of [noFlags, privateNoCa, privateWithCa]) f?.stop();
  for (const s of [plain, secure]) {
    s?.close();
    s?.closeAllConnections();
  }
});

/** A sign-in provider (OpenID Connect, discovery under `issuer`) never fetched yet. */
function provider(label, issuer) {
  const name = `ff-${label}-${TAG}`;
  sql("SELECT oauth.add_sign_in_provider(:'p1', :'p2'::jsonb)", name,
    JSON.stringify({ kind: "oidc", client_id: "ff-client", client_secret: "ff-secret", issuer, display_name: `FF ${label}` }));
  added.push(["provider", name]);
  return name;
}

/** A pending authorization request at the suite's front: its id. */
async function pendingAuthorization() {
  const client = createClient({ name: "Fetch failures app" });
  const q = new URLSearchParams({ response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT,
    scope: "openid", code_challenge: pkce().challenge, code_challenge_method: "S256" });
  const res = await fetch(`${FRONT}/oauth/authorize?${q}`, { redirect: "manual" });
  assert.equal(res.status, 302, await res.text());
  const id = new URL(res.headers.get("location")).searchParams.get("authorization_id");
  assert.ok(id, res.headers.get("location"));
  return id;
}

/** `GET /signin/{name}` at `front`: {status, retryAfter, text}. */
async function beginSignIn(front, name) {
  const id = await pendingAuthorization();
  const res = await fetch(`${front.base}/signin/${name}?authorization_id=${id}`, { redirect: "manual" });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), text: await res.text() };
}

/** The page's text without markup (the description is HTML-escaped). */
const pageText = (html) => html.replace(/<[^>]+>/g, " ").replace(/&#39;/g, "'").replace(/&quot;/g, '"')
  .replace(/&amp;/g, "&").replace(/\s+/g, " ");

/** The lines of `front`'s log that say `what`, once they appear. */
async function logLines(front, what) {
  for (let i = 0; i < 50; i++) {
    const lines = front.log().split("\n").filter((l) => l.includes(what));
    if (lines.length) return lines.join("\n");
    await new Promise((r) => setTimeout(r, 100));
  }
  return "";
}

// --- sign-in providers -------------------------------------------------------------------------

test("sign-in: a provider on loopback over http without --allow-private-fetch is a 502 naming the flag, without Retry-After, logged, never fetched", { skip }, async () => {
  const name = provider("http", `${PLAIN}/ok/http-${TAG}`);
  for (let attempt = 0; attempt < 2; attempt++) { // the fetch, then its failure kept for the minute
    const r = await beginSignIn(noFlags, name);
    const text = pageText(r.text);
    assert.equal(r.status, 502, text);
    assert.equal(r.retryAfter, null, "no retry cures a refusal");
    assert.match(text, /server_error/);
    assert.match(text, /plain http from a loopback address/);
    assert.match(text, /--allow-private-fetch/);
  }
  assert.ok(!asked.some((p) => p.includes(`http-${TAG}`)), "the stand-in was asked");
  const logged = await logLines(noFlags, name);
  assert.match(logged, /WARN/);
  assert.match(logged, /--allow-private-fetch/);
});

test("sign-in: a provider at a name that resolves to loopback, without --allow-private-fetch, is a 502 naming the flag", { skip }, async () => {
  const name = provider("localhost", `https://localhost:${closedPort}/named-${TAG}`);
  const r = await beginSignIn(noFlags, name);
  const text = pageText(r.text);
  assert.equal(r.status, 502, text);
  assert.equal(r.retryAfter, null);
  assert.match(text, /private, loopback or link-local/);
  assert.match(text, /--allow-private-fetch/);
});

test("sign-in: a provider whose certificate comes from a private CA, without --fetch-ca-file, is a 502 naming the flag", { skip: skipTls }, async () => {
  const name = provider("ca", `${SECURE}/ok/ca-${TAG}`);
  const r = await beginSignIn(privateNoCa, name);
  const text = pageText(r.text);
  assert.equal(r.status, 502, text);
  assert.equal(r.retryAfter, null);
  assert.match(text, /TLS failed/);
  assert.match(text, /--fetch-ca-file/);
  assert.match(await logLines(privateNoCa, name), /--fetch-ca-file/);
});

test("sign-in: a provider whose discovery document is missing or not JSON is a 502 saying so", { skip }, async () => {
  const missing = await beginSignIn(privateNoCa, provider("404", `${PLAIN}/missing/p-${TAG}`));
  assert.equal(missing.status, 502, pageText(missing.text));
  assert.match(pageText(missing.text), /answered HTTP 404/);
  assert.equal(missing.retryAfter, null);
  const text = await beginSignIn(privateNoCa, provider("text", `${PLAIN}/text/p-${TAG}`));
  assert.equal(text.status, 502, pageText(text.text));
  assert.match(pageText(text.text), /not JSON/);
});

test("sign-in: a provider that refuses connections may come back: 503 saying why, Retry-After until the next fetch", { skip }, async () => {
  const r = await beginSignIn(privateNoCa, provider("down", `http://127.0.0.1:${closedPort}/down-${TAG}`));
  const text = pageText(r.text);
  assert.equal(r.status, 503, text);
  assert.match(text, /temporarily_unavailable/);
  assert.match(text, /could not be reached/);
  const wait = Number(r.retryAfter);
  assert.ok(wait > 1 && wait <= 60, `Retry-After: ${r.retryAfter}`);
});

// --- client metadata documents -----------------------------------------------------------------

/** An authorization request at `front` whose client_id is the document at `url`: the error. */
async function documentRefusal(front, url) {
  const q = new URLSearchParams({ response_type: "code", client_id: url, redirect_uri: "http://127.0.0.1/callback",
    code_challenge: pkce().challenge, code_challenge_method: "S256" });
  const res = await fetch(`${front.base}/oauth/authorize?${q}`, { redirect: "manual" });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("location"), null);
  const body = await res.json();
  assert.equal(body.error, "invalid_client", JSON.stringify(body));
  return body.error_description;
}

test("client metadata documents: each failed fetch says why (address, https, TLS, status, size, not JSON, timeout) and is logged", { skip: skipTls }, async () => {
  const doc = (base, kind) => `${base}/${kind}/client-${TAG}-${randomBytes(3).toString("hex")}.json`;
  assert.match(await documentRefusal(noFlags, doc(SECURE, "ok")), /private, loopback or link-local.*--allow-private-fetch/);
  assert.match(await documentRefusal(privateNoCa, doc(PLAIN, "ok")), /https is required/);
  assert.match(await documentRefusal(privateNoCa, doc(SECURE, "ok")), /TLS failed.*--fetch-ca-file/);
  assert.match(await documentRefusal(privateWithCa, doc(SECURE, "missing")), /answered HTTP 404/);
  assert.match(await documentRefusal(privateWithCa, doc(SECURE, "large")), /more than 16384 bytes/);
  assert.match(await documentRefusal(privateWithCa, doc(SECURE, "text")), /not JSON/);
  const silent = doc(SECURE, "silent");
  assert.match(await documentRefusal(privateWithCa, silent), /did not answer within 5 s/);
  const logged = await logLines(privateWithCa, silent);
  assert.match(logged, /WARN/);
  assert.match(logged, /did not answer within 5 s/);
  assert.match(await logLines(noFlags, "client metadata document refused"), /--allow-private-fetch/);
});

test("client metadata documents: nobody learns which names the front's resolver knows (an internal name reads as one that does not exist)", { skip }, async () => {
  const internal = `https://localhost:${closedPort}/client-${TAG}.json`;
  const unknown = `https://no-such-host-${TAG}.invalid/client.json`;
  const told = async (url) => (await documentRefusal(noFlags, url)).replace(url, "<client_id>");
  const [a, b] = [await told(internal), await told(unknown)];
  assert.equal(a, b);
  assert.match(a, /--allow-private-fetch/);
  // The log says which it was.
  assert.match(await logLines(noFlags, unknown), /does not resolve/);
});

// --- trusted issuers' keys ---------------------------------------------------------------------

test("issuer keys: a loopback issuer without --allow-private-fetch is logged and recorded with the flag to set", { skip }, async () => {
  const issuer = `${PLAIN}/ok/issuer-${TAG}`;
  sql("SELECT oauth.add_issuer(:'p1', '{}'::jsonb)", issuer);
  added.push(["issuer", issuer]);
  const child = spawn(process.env.FRONT_BIN, ["--listen", "127.0.0.1:0", "--jwks-refresh-interval", "1",
    "--purge-interval", "0", "--log-format", "text"], { env: { ...process.env, OAUTH_FRONT_LOG: "info" } });
  let log = "";
  child.stdout.on("data", (d) => { log += d; });
  child.stderr.on("data", (d) => { log += d; });
  try {
    let row = {};
    for (let i = 0; i < 50 && !row.last_error; i++) {
      await new Promise((r) => setTimeout(r, 200));
      row = JSON.parse(sql("SELECT oauth.issuers()")).find((i) => i.issuer === issuer) ?? {};
    }
    assert.match(row.last_error ?? "", /plain http from a loopback address.*--allow-private-fetch/);
    const line = log.split("\n").find((l) => l.includes("issuer keys not refreshed") && l.includes(issuer)) ?? "";
    assert.match(line, /WARN/);
    assert.match(line, /--allow-private-fetch/);
  } finally {
    child.kill();
  }
});

// --- --public-url -------------------------------------------------------------------------------

test("a --public-url that is not oauth_server.issuer stops the front at start-up, naming both and the fix", { skip }, async () => {
  const wrong = "http://127.0.0.1:1";
  const child = spawn(process.env.FRONT_BIN, ["--listen", "127.0.0.1:0", "--public-url", wrong,
    "--purge-interval", "0", "--jwks-refresh-interval", "0", "--log-format", "text"]);
  let log = "";
  child.stdout.on("data", (d) => { log += d; });
  child.stderr.on("data", (d) => { log += d; });
  const code = await Promise.race([
    new Promise((r) => child.on("exit", r)),
    new Promise((r) => setTimeout(() => r("still running"), 10_000)),
  ]);
  child.kill();
  assert.notEqual(code, "still running", `the front started: ${log}`);
  assert.notEqual(code, 0);
  assert.ok(log.includes(wrong), log);
  assert.ok(log.includes(FRONT), log);
  assert.match(log, /oauth_server\.issuer/);
  assert.match(log, /ALTER DATABASE/);
});

test("a --public-url equal to oauth_server.issuer but for a trailing slash starts", { skip }, async () => {
  const f = await startFront(["--public-url", `${FRONT}/`]);
  try {
    assert.equal((await fetch(`${f.base}/healthz`)).status, 200, f.log());
  } finally {
    f.stop();
  }
});
