// OpenID Connect Back-Channel Logout over HTTP: a user signs in (the front's demo login),
// approves two apps, and signs out through RP-initiated logout (GET /oauth/logout with an ID
// token hint). The front POSTs a logout token to each app's backchannel_logout_uri; the
// receiver here verifies every token with jose against the server's JWKS (typ logout+jwt, iss,
// aud, the back-channel logout event, sid, no nonce) as an RP must. A receiver answering 500,
// then one that is down, gets the same event again once it recovers, and none after its 200.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import * as jose from "jose";
import { FRONT, basic, bearer, consentThrough, createClient, pkce, postForm, session, sql } from "./helpers.js";

const EVENT = "http://schemas.openid.net/event/backchannel-logout";
const jwks = jose.createRemoteJWKSet(new URL(`${FRONT}/.well-known/jwks.json`));
const received = []; // {path, status, claims | error}
const modes = new Map(); // path → "ok" | "500" | "down" | "slow"
let server;
let base;

before(async () => {
  server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    let body = "";
    for await (const chunk of req) body += chunk;
    const mode = modes.get(path) ?? "ok";
    if (mode === "down") { req.socket.destroy(); received.push({ path, status: null }); return; }
    if (mode === "slow") await new Promise((r) => setTimeout(r, 1500));
    const token = new URLSearchParams(body).get("logout_token");
    let entry;
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(token, jwks,
        { issuer: FRONT, typ: "logout+jwt", maxTokenAge: "2m" });
      assert.equal(req.headers["content-type"], "application/x-www-form-urlencoded");
      entry = { path, claims: payload, header: protectedHeader };
    } catch (e) {
      entry = { path, error: String(e) };
    }
    const status = mode === "500" ? 500 : entry.error ? 400 : 200;
    received.push({ ...entry, status });
    res.writeHead(status, { "cache-control": "no-store", connection: "close" });
    res.end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** An app whose logout tokens go to `path` on the receiver. */
function app(path) {
  const c = createClient();
  sql(`SELECT oauth.update_client(:'p1', jsonb_build_object('backchannel_logout_uri', :'p2'::text))`,
    c.client_id, `${base}${path}`);
  return c;
}

/** A code flow of `c` approved with the session `token` → the token response. */
async function signIn(c, token) {
  const { verifier, challenge } = pkce();
  const url = new URL(`${FRONT}/oauth/authorize`);
  url.search = new URLSearchParams({ client_id: c.client_id, redirect_uri: "http://127.0.0.1:9/callback",
    response_type: "code", scope: "openid", code_challenge: challenge, code_challenge_method: "S256",
    nonce: "n-1" }).toString();
  const back = await consentThrough(url, { token });
  const res = await postForm("/oauth/token", { grant_type: "authorization_code", code: back.searchParams.get("code"),
    code_verifier: verifier, redirect_uri: "http://127.0.0.1:9/callback" }, basic(c.client_id, c.client_secret));
  const t = await res.json();
  assert.equal(res.status, 200, JSON.stringify(t));
  return t;
}

/** Waits (up to 30 s) until `check()` holds. */
async function until(what, check) {
  for (let i = 0; i < 300; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(received)}`);
}

const deliveryOf = (c) => JSON.parse(sql("SELECT oauth.logout_deliveries(:'p1')", c.client_id))[0];
const hits = (path) => received.filter((r) => r.path === path);

test("RP-initiated logout reaches every app the session signed in to, verified by jose", async () => {
  const [p1, p2] = ["/rp-one", "/rp-two"];
  const [one, two] = [app(p1), app(p2)];
  const token = await session("bcl-alice");
  const t1 = await signIn(one, token);
  await signIn(two, token);
  const logout = await fetch(`${FRONT}/oauth/logout?${new URLSearchParams({ id_token_hint: t1.id_token })}`,
    { redirect: "manual" });
  assert.ok(logout.status < 400, `${logout.status}`);
  await until("both deliveries", () => hits(p1).length === 1 && hits(p2).length === 1);
  for (const [path, c] of [[p1, one], [p2, two]]) {
    const [r] = hits(path);
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(r.claims.aud, c.client_id);
    assert.deepEqual(r.claims.events, { [EVENT]: {} });
    assert.equal(r.claims.sub, "bcl-alice");
    assert.equal(r.claims.sid, jose.decodeJwt(token).sid);
    assert.equal(r.claims.nonce, undefined);
    assert.ok(r.claims.jti);
    await until("delivered", () => deliveryOf(c)?.state === "delivered");
  }
  // The session is over: its token no longer works.
  const me = await fetch(`${FRONT}/oauth/grants`, { headers: bearer(token) });
  assert.equal(me.status, 401);
});

test("a receiver answering 500, then down, gets the same event once it recovers, and never after its 200", async () => {
  const path = "/rp-flaky";
  const c = app(path);
  const token = await session("bcl-bob");
  await signIn(c, token);
  modes.set(path, "500");
  const res = await postForm("/oauth/sign_out", {}, bearer(token));
  assert.ok(res.status < 400, `${res.status}`);
  await until("a 500 reported", () => deliveryOf(c)?.last_status === 500);
  assert.equal(deliveryOf(c).state, "pending");
  const due = () => sql("UPDATE oauth.logout_deliveries SET next_attempt_at = now() WHERE client_id = :'p1'", c.client_id);
  modes.set(path, "down");
  due();
  await until("a failed connection reported", () => deliveryOf(c)?.attempts === 2 && deliveryOf(c).last_status === null);
  modes.set(path, "slow");
  due();
  await until("delivered", () => deliveryOf(c)?.state === "delivered");
  const seen = hits(path);
  const jtis = new Set(seen.filter((r) => r.claims).map((r) => r.claims.jti));
  assert.equal(jtis.size, 1, "one event, retried");
  assert.equal(seen.filter((r) => r.status === 200).length, 1);
  // Even made due again, a delivered event is never sent again.
  due();
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(hits(path).filter((r) => r.status === 200).length, 1);
  assert.equal(hits(path).length, seen.length);
});
