// DPoP (RFC 9449) over HTTP, driven by oauth4webapi (panva): a public client whose code and
// refresh tokens are bound to its key (dpop_jkt, cnf.jkt, token_type DPoP), DPoP at userinfo;
// then what a thief holding the tokens but not the key, or a replayed proof, gets. The server's
// nonce (oauth_server.dpop_nonce), a confidential client that must use DPoP, and CORS.
// Pushed authorization requests (RFC 9126): a proof at PAR binds the code (RFC 9449 §10.1), and
// a client registered with require_pushed_authorization_requests is refused a plain request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import * as oauth from "oauth4webapi";
import * as jose from "jose";
import { FRONT, REDIRECT, createClient, consentThrough, sql } from "./helpers.js";

const insecure = { [oauth.allowInsecureRequests]: true }; // loopback http only
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url"));
const TOKEN = `${FRONT}/oauth/token`;
const USERINFO = `${FRONT}/oauth/userinfo`;

async function discover() {
  const res = await oauth.discoveryRequest(new URL(FRONT), { algorithm: "oidc", ...insecure });
  return oauth.processDiscoveryResponse(new URL(FRONT), res);
}

/** The key's RFC 7638 thumbprint, computed by jose (not by the library that sends proofs). */
async function thumbprint(keyPair) {
  return jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey), "sha256");
}

/** A DPoP proof made by hand (for the requests oauth4webapi would never send). */
async function proof(keyPair, htm, htu, { accessToken, nonce, jti = randomUUID() } = {}) {
  const claims = { htm, htu, jti };
  if (accessToken) claims.ath = jose.base64url.encode(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken))));
  if (nonce) claims.nonce = nonce;
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: await jose.exportJWK(keyPair.publicKey) })
    .setIssuedAt().sign(keyPair.privateKey);
}

const form = (params, headers = {}) => fetch(TOKEN, { method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(params).toString() });

/** Asserts an OAuth error body (and status) from a token endpoint response. */
async function refused(res, status, error) {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error, error, JSON.stringify(body));
  return res;
}

/** Asserts a 401 from userinfo with a challenge of `scheme` carrying `error`. */
function challenged(res, scheme, error) {
  assert.equal(res.status, 401);
  const www = res.headers.get("www-authenticate") ?? "";
  assert.match(www, new RegExp(`^${scheme} `, "i"), www);
  assert.match(www, new RegExp(`error="${error}"`), www);
}

/** Processing an oauth4webapi response rejects with this OAuth error code. */
const rejectsWith = (promise, error, status = 400) => assert.rejects(promise,
  (e) => e instanceof oauth.ResponseBodyError && e.error === error && e.status === status);

/** The authorization endpoint's URL with `query`. */
function authorizeUrl(as, query) {
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams(query).toString();
  return url;
}

/** A code flow's request parameters, PKCE made here: {params, verifier, state}. */
async function codeRequest(scope = "openid") {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const params = { response_type: "code", redirect_uri: REDIRECT, scope, state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256" };
  return { params, verifier, state };
}

/** Pushes `params` with oauth4webapi (`opts`: DPoP); the authorize URL of the pushed request. */
async function pushed(as, client, auth, params, opts = {}) {
  const res = await oauth.pushedAuthorizationRequest(as, client, auth, params, { ...insecure, ...opts });
  assert.equal(res.status, 201, await res.clone().text());
  const { request_uri, expires_in } = await oauth.processPushedAuthorizationResponse(as, client, res);
  assert.match(request_uri, /^urn:ietf:params:oauth:request_uri:./);
  assert.equal(expires_in, 60);
  return authorizeUrl(as, { client_id: client.client_id, request_uri });
}

/** A GET of an authorization URL refused with a JSON `error` (400, no redirect) → the body. */
async function refusedAuthorize(url, error) {
  const res = await fetch(url, { redirect: "manual" });
  const body = await res.json();
  assert.equal(res.status, 400, JSON.stringify(body));
  assert.equal(res.headers.get("location"), null);
  assert.equal(body.error, error, JSON.stringify(body));
  return body;
}

function machine(grants = "client_credentials") {
  return JSON.parse(sql(`SELECT oauth.create_client('DPoP machine', '{}'::text[], 'confidential',
    grant_types => string_to_array(:'p1', ','))`, grants));
}

/** Sets oauth_server.dpop_nonce for the whole cluster (the front's pooled connections too):
 * a new connection that sees the value proves the postmaster re-read the file and signalled
 * the others, which then take it before their next command. */
function nonceMode(on) {
  // ALTER SYSTEM knows the setting once the extension's library is loaded in the session.
  sql(`LOAD 'oauth_server';
    ${on ? "ALTER SYSTEM SET oauth_server.dpop_nonce = on" : "ALTER SYSTEM RESET oauth_server.dpop_nonce"};
    SELECT pg_reload_conf();`);
  for (let i = 0; i < 200; i++) {
    if ((sql("SELECT current_setting('oauth_server.dpop_nonce', true)") === "on") === on) return;
  }
  throw new Error("the configuration was not reloaded");
}

test("public client: dpop_jkt-bound code, DPoP tokens, refresh and userinfo; a thief without the key is refused", async () => {
  const as = await discover();
  assert.ok(as.dpop_signing_alg_values_supported.includes("ES256"));
  assert.ok(!as.dpop_signing_alg_values_supported.some((a) => a === "none" || a.startsWith("HS")));
  const c = createClient({ type: "public" });
  const client = { client_id: c.client_id };
  const keys = await oauth.generateKeyPair("ES256");
  const DPoP = oauth.DPoP(client, keys);
  const jkt = await thumbprint(keys);
  assert.equal(await DPoP.calculateThumbprint(), jkt);
  const thief = await oauth.generateKeyPair("ES256");
  const thiefDPoP = oauth.DPoP(client, thief);

  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({ response_type: "code", client_id: c.client_id, redirect_uri: REDIRECT,
    scope: "openid", state, code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256", dpop_jkt: jkt }).toString();
  const params = oauth.validateAuthResponse(as, client, await consentThrough(url), state);
  const exchange = (opts) => oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT,
    verifier, { ...insecure, ...opts }).then((res) => oauth.processAuthorizationCodeResponse(as, client, res));

  // The code is bound to dpop_jkt: not redeemable without a proof, nor with another key's;
  // neither attempt spends it.
  await rejectsWith(exchange({}), "invalid_dpop_proof");
  await rejectsWith(exchange({ DPoP: thiefDPoP }), "invalid_grant");
  const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT, verifier,
    { DPoP, ...insecure });
  assert.equal((await res.clone().json()).token_type, "DPoP");
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, res);
  assert.equal(tokens.token_type, "dpop");
  assert.equal(claimsOf(tokens.access_token).cnf.jkt, jkt);
  const sub = oauth.getValidatedIdTokenClaims(tokens).sub;
  assert.equal(sub, "alice");

  const refresh = (rt, opts) => oauth.refreshTokenGrantRequest(as, client, oauth.None(), rt, { ...insecure, ...opts })
    .then((r) => oauth.processRefreshTokenResponse(as, client, r));
  const refreshed = await refresh(tokens.refresh_token, { DPoP });
  assert.equal(refreshed.token_type, "dpop");
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  assert.equal(claimsOf(refreshed.access_token).cnf.jkt, jkt);

  const info = await oauth.processUserInfoResponse(as, client, sub,
    await oauth.userInfoRequest(as, client, refreshed.access_token, { DPoP, ...insecure }));
  assert.equal(info.sub, "alice");

  // The refresh token without its key: no proof, another key's proof, a proof for another
  // URL, two proofs. None rotates it.
  const rt = refreshed.refresh_token;
  await rejectsWith(refresh(rt, {}), "invalid_dpop_proof");
  await rejectsWith(refresh(rt, { DPoP: thiefDPoP }), "invalid_grant");
  await refused(await form({ grant_type: "refresh_token", refresh_token: rt, client_id: c.client_id },
    { dpop: await proof(keys, "POST", USERINFO) }), 400, "invalid_dpop_proof");
  await refused(await form({ grant_type: "refresh_token", refresh_token: rt, client_id: c.client_id },
    { dpop: await proof(keys, "GET", TOKEN) }), 400, "invalid_dpop_proof");
  const twice = await new Promise((resolve, reject) => {
    const body = new URLSearchParams({ grant_type: "refresh_token", refresh_token: rt, client_id: c.client_id }).toString();
    Promise.all([proof(keys, "POST", TOKEN), proof(keys, "POST", TOKEN)]).then(([a, b]) => {
      const req = httpRequest(TOKEN, { method: "POST", headers: {
        "content-type": "application/x-www-form-urlencoded", dpop: [a, b] } }, (r) => {
        let text = "";
        r.on("data", (d) => { text += d; });
        r.on("end", () => resolve({ status: r.statusCode, body: JSON.parse(text) }));
      });
      req.on("error", reject);
      req.end(body);
    }, reject);
  });
  assert.deepEqual([twice.status, twice.body.error], [400, "invalid_dpop_proof"]);

  // A proof taken once is refused the second time, even with a fresh refresh token.
  const once = await proof(keys, "POST", TOKEN);
  const first = await form({ grant_type: "refresh_token", refresh_token: rt, client_id: c.client_id }, { dpop: once });
  const next = await first.json();
  assert.equal(first.status, 200, JSON.stringify(next));
  assert.equal(claimsOf(next.access_token).cnf.jkt, jkt);
  await refused(await form({ grant_type: "refresh_token", refresh_token: next.refresh_token, client_id: c.client_id },
    { dpop: once }), 400, "invalid_dpop_proof");

  // At userinfo: the bound token as a bearer token, with another key's proof, with a proof for
  // another URL, a proof without ath, and a replayed proof.
  const at = next.access_token;
  const get = (authorization, dpop) => fetch(USERINFO, { headers: { authorization, ...(dpop ? { dpop } : {}) } });
  challenged(await get(`Bearer ${at}`), "Bearer", "invalid_token");
  challenged(await get(`DPoP ${at}`, await proof(thief, "GET", USERINFO, { accessToken: at })), "DPoP", "invalid_dpop_proof");
  challenged(await get(`DPoP ${at}`, await proof(keys, "GET", TOKEN, { accessToken: at })), "DPoP", "invalid_dpop_proof");
  challenged(await get(`DPoP ${at}`, await proof(keys, "GET", USERINFO)), "DPoP", "invalid_dpop_proof");
  const good = await proof(keys, "GET", USERINFO, { accessToken: at });
  const ok = await get(`DPoP ${at}`, good);
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).sub, "alice");
  challenged(await get(`DPoP ${at}`, good), "DPoP", "invalid_dpop_proof");

  // The holder of the key still refreshes: the refused attempts spent nothing.
  const last = await refresh(next.refresh_token, { DPoP });
  assert.equal(claimsOf(last.access_token).cnf.jkt, jkt);
});

test("PAR with DPoP: pushed by oauth4webapi, authorized by request_uri, a DPoP-bound code, refresh and userinfo", async () => {
  const as = await discover();
  assert.equal(as.pushed_authorization_request_endpoint, `${FRONT}/oauth/par`);
  assert.equal(as.require_pushed_authorization_requests, false);
  const c = createClient({ type: "public" });
  const client = { client_id: c.client_id };
  const keys = await oauth.generateKeyPair("ES256");
  const DPoP = oauth.DPoP(client, keys);
  const jkt = await thumbprint(keys);

  // The proof at PAR binds the code; the browser's URL carries client_id and request_uri only.
  const { params, verifier, state } = await codeRequest();
  const url = await pushed(as, client, oauth.None(), params, { DPoP });
  assert.deepEqual([...url.searchParams.keys()].sort(), ["client_id", "request_uri"]);
  const callback = await consentThrough(url);
  const response = oauth.validateAuthResponse(as, client, callback, state);
  // The request_uri was taken: the same URL again is refused as JSON, not sent to the client.
  await refusedAuthorize(url, "invalid_request");

  const exchange = (opts) => oauth.authorizationCodeGrantRequest(as, client, oauth.None(), response, REDIRECT,
    verifier, { ...insecure, ...opts }).then((res) => oauth.processAuthorizationCodeResponse(as, client, res));
  // No proof, another key's: refused, and the code is not spent.
  await rejectsWith(exchange({}), "invalid_dpop_proof");
  await rejectsWith(exchange({ DPoP: oauth.DPoP(client, await oauth.generateKeyPair("ES256")) }), "invalid_grant");
  const tokens = await exchange({ DPoP });
  assert.equal(tokens.token_type, "dpop");
  assert.equal(claimsOf(tokens.access_token).cnf.jkt, jkt);
  const sub = oauth.getValidatedIdTokenClaims(tokens).sub;
  assert.equal(sub, "alice");

  const refreshed = await oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, { DPoP, ...insecure }));
  assert.equal(refreshed.token_type, "dpop");
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  assert.equal(claimsOf(refreshed.access_token).cnf.jkt, jkt);
  const info = await oauth.processUserInfoResponse(as, client, sub,
    await oauth.userInfoRequest(as, client, refreshed.access_token, { DPoP, ...insecure }));
  assert.equal(info.sub, "alice");

  // A dpop_jkt that is not the proof's key is refused at PAR.
  const other = await oauth.generateKeyPair("ES256");
  const mismatched = await oauth.pushedAuthorizationRequest(as, client, oauth.None(),
    { ...(await codeRequest()).params, dpop_jkt: await thumbprint(other) }, { DPoP, ...insecure });
  await rejectsWith(oauth.processPushedAuthorizationResponse(as, client, mismatched), "invalid_dpop_proof");
});

test("a client registered with require_pushed_authorization_requests: its plain request refused, its pushed one taken", async () => {
  const as = await discover();
  const c = createClient();
  sql(`SELECT oauth.update_client(:'p1', '{"require_pushed_authorization_requests": true}')`, c.client_id);
  const client = { client_id: c.client_id };
  const auth = oauth.ClientSecretBasic(c.client_secret);

  const { params, verifier, state } = await codeRequest();
  const plain = await refusedAuthorize(authorizeUrl(as, { ...params, client_id: c.client_id }), "invalid_request");
  assert.match(plain.error_description, /require_pushed_authorization_requests/);
  // Pushing needs the client's secret.
  const wrong = await oauth.pushedAuthorizationRequest(as, client, oauth.ClientSecretBasic("not-the-secret"),
    params, insecure);
  await refused(wrong, 401, "invalid_client");

  // The same request pushed; the query beside the request_uri does not count.
  const url = await pushed(as, client, auth, params);
  url.searchParams.set("state", "not-the-pushed-state");
  url.searchParams.set("redirect_uri", "https://evil.example/callback");
  const callback = await consentThrough(url);
  assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT);
  const response = oauth.validateAuthResponse(as, client, callback, state);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client,
    await oauth.authorizationCodeGrantRequest(as, client, auth, response, REDIRECT, verifier, insecure));
  assert.equal(tokens.token_type, "bearer");
  assert.equal(oauth.getValidatedIdTokenClaims(tokens).sub, "alice");

  // Another client's client_id with this request_uri: refused, and the request is not spent.
  const again = await pushed(as, client, auth, (await codeRequest()).params);
  const stranger = createClient();
  await refusedAuthorize(authorizeUrl(as, { client_id: stranger.client_id,
    request_uri: again.searchParams.get("request_uri") }), "invalid_request");
  const owner = await fetch(again, { redirect: "manual" });
  assert.equal(owner.status, 302, await owner.text());
  assert.ok(new URL(owner.headers.get("location")).searchParams.get("authorization_id"));
});

test("nonce mode: use_dpop_nonce with a DPoP-Nonce header, then the retry with it succeeds", async () => {
  const as = await discover();
  const c = machine();
  const client = { client_id: c.client_id };
  const keys = await oauth.generateKeyPair("ES256");
  const DPoP = oauth.DPoP(client, keys);
  const grant = () => oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(c.client_secret), {},
    { DPoP, ...insecure });
  nonceMode(true);
  try {
    const first = await grant();
    assert.equal(first.status, 400);
    const nonce = first.headers.get("dpop-nonce");
    assert.ok(nonce, "a DPoP-Nonce header");
    const err = await oauth.processClientCredentialsResponse(as, client, first).catch((e) => e);
    assert.ok(oauth.isDPoPNonceError(err), String(err));
    assert.equal(err.error, "use_dpop_nonce");

    // A nonce the server never issued is no better than none.
    const auth = { authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString("base64")}` };
    const made = await form({ grant_type: "client_credentials" },
      { ...auth, dpop: await proof(keys, "POST", TOKEN, { nonce: "not-a-nonce-of-this-server" }) });
    assert.ok(made.headers.get("dpop-nonce"));
    await refused(made, 400, "use_dpop_nonce");

    // The handle cached the nonce from the first answer: the retry's proof carries it.
    const retry = await grant();
    const t = await oauth.processClientCredentialsResponse(as, client, retry);
    assert.equal(t.token_type, "dpop");
    assert.equal(claimsOf(t.access_token).cnf.jkt, await thumbprint(keys));
    assert.ok(retry.headers.get("dpop-nonce"), "the next nonce comes with a success too");
    // A hand-made proof with the announced nonce is taken as well.
    const manual = await form({ grant_type: "client_credentials" },
      { ...auth, dpop: await proof(keys, "POST", TOKEN, { nonce: retry.headers.get("dpop-nonce") }) });
    assert.equal(manual.status, 200, await manual.clone().text());
    assert.equal((await manual.json()).token_type, "DPoP");
  } finally {
    nonceMode(false);
  }
  // Without the setting, a proof without a nonce is taken at once.
  const off = await oauth.processClientCredentialsResponse(as, client, await grant());
  assert.equal(off.token_type, "dpop");
});

test("a client registered with dpop_bound_access_tokens must send a proof; introspection shows cnf", async () => {
  const as = await discover();
  const c = machine();
  sql(`SELECT oauth.update_client(:'p1', '{"dpop_bound_access_tokens": true}')`, c.client_id);
  const client = { client_id: c.client_id };
  const auth = oauth.ClientSecretBasic(c.client_secret);
  const keys = await oauth.generateKeyPair("ES256");
  const DPoP = oauth.DPoP(client, keys);
  const grant = (opts) => oauth.clientCredentialsGrantRequest(as, client, auth, {}, { ...insecure, ...opts })
    .then((res) => oauth.processClientCredentialsResponse(as, client, res));
  await rejectsWith(grant({}), "invalid_dpop_proof");
  const t = await grant({ DPoP });
  assert.equal(t.token_type, "dpop");
  const jkt = await thumbprint(keys);
  assert.equal(claimsOf(t.access_token).cnf.jkt, jkt);
  const introspected = await oauth.processIntrospectionResponse(as, client,
    await oauth.introspectionRequest(as, client, auth, t.access_token, insecure));
  assert.equal(introspected.active, true);
  assert.equal(introspected.token_type, "DPoP");
  assert.deepEqual(introspected.cnf, { jkt });

  // The same requirement taken at dynamic registration, for a public client's code flow.
  const reg = await fetch(as.registration_endpoint, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "DPoP SPA", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none",
      grant_types: ["authorization_code"], dpop_bound_access_tokens: true }) });
  const registered = await reg.json();
  assert.equal(reg.status, 201, JSON.stringify(registered));
  assert.equal(registered.dpop_bound_access_tokens, true);
  const spa = { client_id: registered.client_id };
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({ response_type: "code", client_id: spa.client_id, redirect_uri: REDIRECT,
    scope: "openid", code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256" }).toString();
  const params = oauth.validateAuthResponse(as, spa, await consentThrough(url), oauth.expectNoState);
  const exchange = (opts) => oauth.authorizationCodeGrantRequest(as, spa, oauth.None(), params, REDIRECT, verifier,
    { ...insecure, ...opts }).then((res) => oauth.processAuthorizationCodeResponse(as, spa, res));
  await rejectsWith(exchange({}), "invalid_dpop_proof");
  const spaKeys = await oauth.generateKeyPair("ES256");
  const spaTokens = await exchange({ DPoP: oauth.DPoP(spa, spaKeys) });
  assert.equal(claimsOf(spaTokens.access_token).cnf.jkt, await thumbprint(spaKeys));
});

test("CORS: a browser may send DPoP and read DPoP-Nonce and WWW-Authenticate", async () => {
  const origin = "https://spa.example";
  const pre = await fetch(TOKEN, { method: "OPTIONS", headers: {
    origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,dpop" } });
  assert.ok(pre.status === 200 || pre.status === 204, String(pre.status));
  assert.equal(pre.headers.get("access-control-allow-origin"), "*");
  const allowed = (pre.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/\s*,\s*/);
  assert.ok(allowed.includes("dpop"), allowed.join());
  const answer = await form({ grant_type: "client_credentials" }, { origin });
  assert.equal(answer.headers.get("access-control-allow-origin"), "*");
  const exposed = (answer.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/\s*,\s*/);
  assert.ok(exposed.includes("dpop-nonce") && exposed.includes("www-authenticate"), exposed.join());
});
