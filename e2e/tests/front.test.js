// The front's HTTP mapping, with plain fetch: what RFC 6749/6750/7009/7591/7662/8414 and the
// OIDC specs say about status codes, headers and bodies, and what the front adds (CORS, rate
// limits, caching, health).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  FRONT, REDIRECT, basic, bearer, consentThrough, createClient, pkce, postForm, session, sql,
} from "./helpers.js";

async function codeFor(c, { scope = "openid", user = "carol" } = {}) {
  const p = pkce();
  const q = new URLSearchParams({ response_type: "code", client_id: c.client_id, redirect_uri: REDIRECT,
    scope, code_challenge: p.challenge, code_challenge_method: "S256", state: "s1" });
  const cb = await consentThrough(`${FRONT}/oauth/authorize?${q}`, { user });
  return { code: cb.searchParams.get("code"), verifier: p.verifier };
}

async function tokensFor(c, opts) {
  const { code, verifier } = await codeFor(c, opts);
  const res = await postForm("/oauth/token", { grant_type: "authorization_code", code,
    code_verifier: verifier, redirect_uri: REDIRECT }, basic(c.client_id, c.client_secret));
  assert.equal(res.status, 200);
  return res.json();
}

test("token responses are not cacheable; Basic credentials are form-URL-decoded", async () => {
  const c = createClient();
  const { code, verifier } = await codeFor(c);
  // Percent-encode every character of the id and secret: RFC 6749 §2.3.1 decoding must undo it.
  const enc = (s) => [...s].map((ch) => "%" + ch.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  const res = await postForm("/oauth/token",
    { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT },
    { authorization: "Basic " + Buffer.from(`${enc(c.client_id)}:${enc(c.client_secret)}`).toString("base64") });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("pragma"), "no-cache");
  const body = await res.json();
  assert.equal(body.token_type, "Bearer");
  assert.equal(body.scope, "openid");
});

test("failed client authentication is 401 with WWW-Authenticate", async () => {
  const c = createClient();
  const res = await postForm("/oauth/token", { grant_type: "refresh_token", refresh_token: "x" },
    basic(c.client_id, "wrong"));
  assert.equal(res.status, 401);
  assert.match(res.headers.get("www-authenticate"), /^Basic/);
  assert.equal((await res.json()).error, "invalid_client");
  // Two methods at once is a malformed request.
  const both = await postForm("/oauth/token", { grant_type: "refresh_token", refresh_token: "x",
    client_secret: c.client_secret }, basic(c.client_id, c.client_secret));
  assert.equal(both.status, 400);
  assert.equal((await both.json()).error, "invalid_request");
});

test("secret guessing: past the failure budget a wrong secret gets 429 at every client-authenticating endpoint, the right one still gets through", { skip: !process.env.FRONT_BIN && "FRONT_BIN not set" }, async () => {
  // A front of its own with a budget of 3 failures a minute (the suite's front allows more,
  // because many tests fail authentication on purpose from the same address). More in
  // front_limits.test.js: the budget is per (client_id, address).
  const port = 18191;
  const front = spawn(process.env.FRONT_BIN, ["--listen", `127.0.0.1:${port}`, "--purge-interval", "0",
    "--jwks-refresh-interval", "0", "--client-auth-failures-per-minute", "3"], { stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  const post = (path, form, headers) => fetch(base + path, { method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(form) });
  try {
    for (let i = 0; i < 50; i++) {
      if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const c = createClient({ grants: "client_credentials" });
    // Successes cost nothing.
    for (let i = 0; i < 5; i++) {
      assert.equal((await post("/oauth/token", { grant_type: "client_credentials" }, basic(c.client_id, c.client_secret))).status, 200);
    }
    for (let i = 0; i < 3; i++) {
      assert.equal((await post("/oauth/token", { grant_type: "client_credentials" }, basic(c.client_id, `guess${i}`))).status, 401);
    }
    // At once (one is checked and held, the others refused unchecked; one after the other,
    // each would wait for the previous hold).
    const paths = ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/device_authorization"];
    const answers = await Promise.all(paths.map((path) =>
      post(path, { grant_type: "client_credentials", token: "x" }, basic(c.client_id, "still-guessing"))));
    for (const [i, res] of answers.entries()) {
      assert.equal(res.status, 429, paths[i]);
      assert.ok(Number(res.headers.get("retry-after")) > 0);
      assert.equal((await res.json()).error, "slow_down");
    }
    // The budget limits failures, never the client: its own secret is answered as usual.
    assert.equal((await post("/oauth/token", { grant_type: "client_credentials" }, basic(c.client_id, c.client_secret))).status, 200);
  } finally {
    front.kill();
  }
});

test("malformed token requests get RFC 6749 errors, never a 500", async () => {
  const c = createClient();
  const auth = basic(c.client_id, c.client_secret);
  const cases = [
    [{}, 400, "invalid_request"],
    [{ grant_type: "password", username: "a", password: "b" }, 400, "unsupported_grant_type"],
    [{ grant_type: "authorization_code" }, 400, "invalid_request"],
    [{ grant_type: "authorization_code", code: "nope", code_verifier: "x".repeat(43) }, 400, "invalid_grant"],
  ];
  for (const [form, status, error] of cases) {
    const res = await postForm("/oauth/token", form, auth);
    assert.equal(res.status, status, JSON.stringify(form));
    assert.equal((await res.json()).error, error);
  }
  const repeated = await fetch(`${FRONT}/oauth/token`, { method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...auth },
    body: "grant_type=refresh_token&grant_type=refresh_token&refresh_token=x" });
  assert.equal(repeated.status, 400);
  assert.equal((await repeated.json()).error, "invalid_request");
  const wrongType = await fetch(`${FRONT}/oauth/token`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x" });
  assert.equal(wrongType.status, 400);
  const huge = await postForm("/oauth/token", { grant_type: "x".repeat(200000) }, auth);
  assert.equal(huge.status, 413);
  const nul = await postForm("/oauth/token", { grant_type: "refresh_token", refresh_token: "a\u0000b" }, auth);
  assert.equal(nul.status, 400);
  // A JSON body with a number at the edge of f64 (schemathesis found these as 500s).
  const edge = await fetch(`${FRONT}/oauth/token`, { method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: '{"grant_type": "refresh_token", "refresh_token": "x", "n": [1.7976931348623157e308, -1.7976931348623157e308]}' });
  assert.equal(edge.status, 400);
  assert.equal((await edge.json()).error, "invalid_grant");
});

test("authorize: 302 to the consent page, 400 JSON when it must not redirect", async () => {
  const c = createClient();
  const p = pkce();
  const q = (extra) => `${FRONT}/oauth/authorize?` + new URLSearchParams({ response_type: "code",
    client_id: c.client_id, redirect_uri: REDIRECT, code_challenge: p.challenge,
    code_challenge_method: "S256", ...extra });
  const ok = await fetch(q({}), { redirect: "manual" });
  assert.equal(ok.status, 302);
  assert.match(ok.headers.get("location"), /\/consent\?authorization_id=/);
  const unknown = await fetch(q({ client_id: "nobody" }), { redirect: "manual" });
  assert.equal(unknown.status, 400);
  assert.equal((await unknown.json()).error, "invalid_request");
  // Loopback redirect on another port is the same registered URI (RFC 8252 §7.3).
  const port = await fetch(q({ redirect_uri: "http://127.0.0.1:49152/callback" }), { redirect: "manual" });
  assert.equal(port.status, 302);
  // After the client is known, errors go back to it with state and iss.
  const plain = await fetch(q({ code_challenge_method: "plain", state: "xyz" }), { redirect: "manual" });
  assert.equal(plain.status, 302);
  const loc = new URL(plain.headers.get("location"));
  assert.equal(loc.searchParams.get("error"), "invalid_request");
  assert.equal(loc.searchParams.get("state"), "xyz");
  assert.equal(loc.searchParams.get("iss"), FRONT);
});

test("userinfo: bearer header or form body, 401 with a Bearer challenge otherwise", async () => {
  const c = createClient();
  const t = await tokensFor(c, { scope: "openid email" });
  const get = await fetch(`${FRONT}/oauth/userinfo`, { headers: bearer(t.access_token) });
  assert.equal(get.status, 200);
  assert.deepEqual(await get.json(), { sub: "carol", email: "carol@example.com", email_verified: true });
  const post = await postForm("/oauth/userinfo", { access_token: t.access_token });
  assert.equal(post.status, 200);
  const none = await fetch(`${FRONT}/oauth/userinfo`);
  assert.equal(none.status, 401);
  assert.match(none.headers.get("www-authenticate"), /^Bearer .*error="invalid_token"/);
  const forged = await fetch(`${FRONT}/oauth/userinfo`, { headers: bearer(t.access_token.slice(0, -4) + "AAAA") });
  assert.equal(forged.status, 401);
  // A session token is not an access token.
  const s = await fetch(`${FRONT}/oauth/userinfo`, { headers: bearer(await session("carol")) });
  assert.equal(s.status, 401);
  // Without openid: insufficient_scope.
  sql(`SELECT oauth.set_scope('notes:read', 'Read your notes')`);
  const t2 = await tokensFor(c, { scope: "notes:read" });
  const scoped = await fetch(`${FRONT}/oauth/userinfo`, { headers: bearer(t2.access_token) });
  assert.equal(scoped.status, 403);
  assert.match(scoped.headers.get("www-authenticate"), /insufficient_scope/);
});

test("introspection needs a confidential client; revocation answers 200 for any token", async () => {
  const c = createClient();
  const pub = createClient({ type: "public" });
  const t = await tokensFor(c);
  const byPublic = await postForm("/oauth/introspect", { token: t.access_token, client_id: pub.client_id });
  assert.equal(byPublic.status, 401);
  const anon = await postForm("/oauth/introspect", { token: t.access_token });
  assert.equal(anon.status, 401);
  const other = createClient();
  const auth = basic(c.client_id, c.client_secret);
  const otherAuth = basic(other.client_id, other.client_secret);
  // A refresh token is shown only to its own client.
  assert.equal((await (await postForm("/oauth/introspect", { token: t.refresh_token }, otherAuth)).json()).active, false);
  const mine = await (await postForm("/oauth/introspect", { token: t.refresh_token }, auth)).json();
  assert.equal(mine.active, true);
  assert.equal(mine.token_type, "refresh_token");
  // Another client cannot revoke it; the answer does not say so.
  const foreign = await postForm("/oauth/revoke", { token: t.refresh_token }, otherAuth);
  assert.equal(foreign.status, 200);
  assert.equal((await (await postForm("/oauth/introspect", { token: t.refresh_token }, auth)).json()).active, true);
  assert.equal((await postForm("/oauth/revoke", { token: "garbage" }, auth)).status, 200);
  // Revoking the access token revokes its family.
  assert.equal((await postForm("/oauth/revoke", { token: t.access_token, token_type_hint: "access_token" }, auth)).status, 200);
  assert.equal((await (await postForm("/oauth/introspect", { token: t.refresh_token }, auth)).json()).active, false);
  const missing = await postForm("/oauth/revoke", {}, auth);
  assert.equal(missing.status, 400);
});

test("dynamic registration: 201 with the RFC 7591 fields, errors, per-IP rate limit", async () => {
  const reg = (body) => fetch(`${FRONT}/oauth/register`, { method: "POST",
    headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const ok = await reg({ client_name: "MCP agent", redirect_uris: ["http://127.0.0.1/cb"],
    token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], scope: "openid email" });
  assert.equal(ok.status, 201);
  assert.equal(ok.headers.get("cache-control"), "no-store");
  const body = await ok.json();
  assert.ok(body.client_id && body.client_id_issued_at > 0);
  assert.equal(body.client_secret, undefined);
  assert.equal(body.scope, "openid email");
  assert.deepEqual(body.response_types, ["code"]);
  const conf = await (await reg({ redirect_uris: ["https://app.example/cb"] })).json();
  assert.ok(conf.client_secret);
  assert.equal(conf.client_secret_expires_at, 0);
  assert.equal(conf.token_endpoint_auth_method, "client_secret_basic");
  const badUri = await reg({ redirect_uris: ["http://app.example/cb"] });
  assert.equal(badUri.status, 400);
  assert.equal((await badUri.json()).error, "invalid_redirect_uri");
  const noUri = await reg({ client_name: "x" });
  assert.equal((await noUri.json()).error, "invalid_redirect_uri");
  for (const md of [{ response_types: ["token"] }, { grant_types: ["password"] }, { scope: "admin:all" },
    { token_endpoint_auth_method: "private_key_jwt" }, { client_uri: "javascript:alert(1)" }, { client_name: 5 }]) {
    const res = await reg({ redirect_uris: ["https://app.example/cb"], ...md });
    assert.equal(res.status, 400, JSON.stringify(md));
    assert.equal((await res.json()).error, "invalid_client_metadata");
  }
  const notJson = await fetch(`${FRONT}/oauth/register`, { method: "POST", body: "{" });
  assert.equal(notJson.status, 400);
  // The limit (40 per minute in the test configuration) is reached within this test.
  let limited = null;
  for (let i = 0; i < 45 && !limited; i++) {
    const res = await reg({ redirect_uris: ["https://app.example/cb"] });
    if (res.status === 429) limited = res;
  }
  assert.ok(limited, "expected a 429");
  assert.ok(Number(limited.headers.get("retry-after")) > 0);
});

test("discovery documents, path-inserted form, JWKS caching, CORS, health", async () => {
  const oidcDoc = await (await fetch(`${FRONT}/.well-known/openid-configuration`)).json();
  const rfc8414 = await fetch(`${FRONT}/.well-known/oauth-authorization-server`);
  assert.deepEqual(await rfc8414.json(), oidcDoc);
  assert.equal(oidcDoc.registration_endpoint, `${FRONT}/oauth/register`);
  assert.deepEqual(oidcDoc.id_token_signing_alg_values_supported, ["ES256"]);
  assert.ok(oidcDoc.scopes_supported.includes("openid"));
  // The issuer has no path, so no path-inserted document exists.
  assert.equal((await fetch(`${FRONT}/.well-known/oauth-authorization-server/tenant`)).status, 404);
  const jwks = await fetch(`${FRONT}/.well-known/jwks.json`);
  assert.match(jwks.headers.get("cache-control"), /max-age=\d+/);
  const keys = (await jwks.json()).keys;
  assert.ok(keys.length >= 2 && keys.every((k) => !k.d), "public keys only");
  const pre = await fetch(`${FRONT}/oauth/token`, { method: "OPTIONS", headers: {
    origin: "https://spa.example", "access-control-request-method": "POST",
    "access-control-request-headers": "authorization,content-type" } });
  assert.equal(pre.headers.get("access-control-allow-origin"), "*");
  assert.equal((await fetch(`${FRONT}/healthz`)).status, 200);
  assert.equal((await fetch(`${FRONT}/nope`)).status, 404);
  // The demo client's landing page (--demo-login only) escapes what it shows.
  const landing = await (await fetch(`${FRONT}/callback?code=%3Cscript%3E&state=s`)).text();
  assert.ok(landing.includes("&lt;script&gt;") && !landing.includes("<script>"));
});

test("consent API: only the user's session, never a client's access token", async () => {
  const c = createClient();
  const t = await tokensFor(c, { user: "dave" });
  const p = pkce();
  const q = new URLSearchParams({ response_type: "code", client_id: c.client_id, redirect_uri: REDIRECT,
    scope: "openid profile", code_challenge: p.challenge, code_challenge_method: "S256" });
  const loc = new URL((await fetch(`${FRONT}/oauth/authorize?${q}`, { redirect: "manual" })).headers.get("location"));
  const id = loc.searchParams.get("authorization_id");
  const asClient = await fetch(`${FRONT}/oauth/authorizations/${id}`, { headers: bearer(t.access_token) });
  assert.equal(asClient.status, 403);
  const noSession = await fetch(`${FRONT}/oauth/authorizations/${id}`);
  assert.equal(noSession.status, 401);
  const forged = await fetch(`${FRONT}/oauth/authorizations/${id}`, { headers: bearer("a.b.c") });
  assert.equal(forged.status, 401);
  const grantsAsClient = await fetch(`${FRONT}/oauth/grants`, { headers: bearer(t.access_token) });
  assert.equal(grantsAsClient.status, 403);
  // Nor the ID token any client the user signed in to holds: it cannot approve the client's
  // own new request, list the user's grants or revoke them.
  assert.ok(t.id_token);
  const withIdToken = await fetch(`${FRONT}/oauth/authorizations/${id}/consent`, {
    method: "POST", headers: { ...bearer(t.id_token), "content-type": "application/json" },
    body: JSON.stringify({ approve: true }),
  });
  assert.equal(withIdToken.status, 403);
  assert.ok(!(await withIdToken.json()).redirect_to);
  assert.equal((await fetch(`${FRONT}/oauth/grants`, { headers: bearer(t.id_token) })).status, 403);
  const revokeWithIdToken = await fetch(`${FRONT}/oauth/grants/${encodeURIComponent(c.client_id)}`,
    { method: "DELETE", headers: bearer(t.id_token) });
  assert.equal(revokeWithIdToken.status, 403);
  assert.equal((await fetch(`${FRONT}/oauth/grants`, { headers: bearer(await session("dave")) })).status, 200);
  // Another user cannot see dave's pending request.
  const owner = await fetch(`${FRONT}/oauth/authorizations/${id}`, { headers: bearer(await session("dave")) });
  assert.equal(owner.status, 200);
  const mallory = await fetch(`${FRONT}/oauth/authorizations/${id}`, { headers: bearer(await session("mallory")) });
  assert.equal(mallory.status, 404);
});

test("grants: the user lists and revokes, and the client's tokens die", async () => {
  const c = createClient({ name: "Grant test app" });
  const t = await tokensFor(c, { user: "erin" });
  const s = await session("erin");
  const list = await (await fetch(`${FRONT}/oauth/grants`, { headers: bearer(s) })).json();
  assert.equal(list.length, 1);
  assert.equal(list[0].client.name, "Grant test app");
  assert.deepEqual(list[0].scopes, ["openid"]);
  const del = await fetch(`${FRONT}/oauth/grants?client_id=${c.client_id}`, { method: "DELETE", headers: bearer(s) });
  assert.equal(del.status, 200);
  assert.equal((await (await fetch(`${FRONT}/oauth/grants`, { headers: bearer(s) })).json()).length, 0);
  const refresh = await postForm("/oauth/token", { grant_type: "refresh_token", refresh_token: t.refresh_token },
    basic(c.client_id, c.client_secret));
  assert.equal((await refresh.json()).error, "invalid_grant");
  assert.equal((await fetch(`${FRONT}/oauth/userinfo`, { headers: bearer(t.access_token) })).status, 401);
  const again = await fetch(`${FRONT}/oauth/grants/${c.client_id}`, { method: "DELETE", headers: bearer(s) });
  assert.equal(again.status, 404);
});
