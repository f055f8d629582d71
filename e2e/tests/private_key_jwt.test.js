// private_key_jwt (RFC 7523 §2.2) over HTTP, driven by oauth4webapi (panva): clients created by
// SQL with a jwks_uri at a JWKS server of the test's own (node:http on 127.0.0.1), whose keys
// the front fetches when an assertion names a key the database lacks: on the first request,
// and after a rotation once the stored set is over a minute old (never more than once a minute
// per client). A replayed assertion, a secret beside one, and introspection by a resource
// server with keys instead of a secret.
//
// A front of its own (--allow-private-fetch for the loopback JWKS server) on a database of its
// own: startFront runs it without the refresh timer, and the stack's front, whose timer fetches
// every client's keys every 600 s, never sees these clients. So every fetch counted here is one
// an assertion caused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import * as oauth from "oauth4webapi";
import * as jose from "jose";
import { basic, nextFrontBase, sql, startFront } from "./helpers.js";

const insecure = { [oauth.allowInsecureRequests]: true }; // loopback http only
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url"));
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DB = "private_key_jwt";
const psqlArgs = (process.env.PSQL_ARGS ?? "").replace(/-d \S+/, `-d ${DB}`);

/** sql() of helpers.js, in this file's database. */
function sqlIn(query, ...args) {
  const saved = process.env.PSQL_ARGS;
  process.env.PSQL_ARGS = psqlArgs;
  try { return sql(query, ...args); } finally { process.env.PSQL_ARGS = saved; }
}

// --- The clients' JWKS server: each path publishes what `published` says, and counts the
// front's fetches.
const published = new Map(); // path → JWKS
const fetches = new Map(); // path → number of GETs
let jwksServer;
let jwksBase;
let nextPath = 0;
let front;
let FRONT;

before(async () => {
  jwksServer = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    fetches.set(path, (fetches.get(path) ?? 0) + 1);
    const jwks = published.get(path);
    res.writeHead(jwks ? 200 : 404, { "content-type": "application/json", connection: "close" });
    res.end(JSON.stringify(jwks ?? { error: "not found" }));
  });
  await new Promise((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
  jwksBase = `http://127.0.0.1:${jwksServer.address().port}`;

  FRONT = nextFrontBase();
  sql(`DROP DATABASE IF EXISTS ${DB}`);
  sql(`CREATE DATABASE ${DB}`);
  sqlIn(`CREATE EXTENSION oauth_server;
    ALTER DATABASE ${DB} SET oauth_server.issuer = '${FRONT}';`);
  const dsn = (process.env.DATABASE_URL ?? "").replace(/dbname=\S+/, `dbname=${DB}`);
  front = await startFront(["--allow-private-fetch", "--public-url", FRONT,
    "--client-auth-failures-per-minute", "10000"], { DATABASE_URL: dsn });
  assert.equal(front.base, FRONT);
});

after(async () => {
  front?.stop();
  jwksServer.closeAllConnections();
  await new Promise((resolve) => jwksServer.close(resolve));
});

function postForm(path, form, headers = {}) {
  return fetch(`${FRONT}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/** A fresh path on the JWKS server publishing `keys` → its URL and how to change or count it. */
function publish(...keys) {
  const path = `/clients/${nextPath++}/jwks.json`;
  const site = {
    url: `${jwksBase}${path}`,
    set: (...ks) => published.set(path, { keys: ks.map((k) => k.jwk) }),
    setRaw: (jwks) => published.set(path, jwks),
    fetched: () => fetches.get(path) ?? 0,
  };
  site.set(...keys);
  return site;
}

/** An ES256 key pair named `kid`: its private key for oauth4webapi and its public JWK. */
async function clientKey(kid) {
  const pair = await oauth.generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await jose.exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" };
  return { kid, pair, jwk, auth: oauth.PrivateKeyJwt({ key: pair.privateKey, kid }) };
}

/** A client of `grants` authenticating with private_key_jwt, its keys at `jwksUri` (SQL). */
function signingClient(jwksUri, grants = "client_credentials") {
  const made = JSON.parse(sqlIn(`SELECT oauth.create_client('PKJ machine', '{}'::text[],
    grant_types => string_to_array(:'p1', ','), token_endpoint_auth_method => 'private_key_jwt',
    jwks_uri => :'p2')`, grants, jwksUri));
  assert.equal(made.client_secret ?? null, null, JSON.stringify(made));
  return { client_id: made.client_id };
}

/** The client's entry in oauth.client_jwks_fetches(). */
function fetchEntry(clientId) {
  const all = JSON.parse(sqlIn("SELECT oauth.client_jwks_fetches()"));
  return all.find((e) => e.client_id === clientId);
}

/** Makes the client's stored key set two minutes old, as if fetched then. */
function backdate(clientId) {
  sqlIn("UPDATE oauth.client_jwks SET fetched_at = now() - interval '2 minutes' WHERE client_id = :'p1'", clientId);
}

function failuresOf(clientId) {
  return Number(sqlIn(`SELECT count(*) FROM oauth.audit_log
    WHERE event = 'client_authentication_failed' AND client_id = :'p1'`, clientId));
}

async function discover() {
  const res = await oauth.discoveryRequest(new URL(FRONT), { algorithm: "oidc", ...insecure });
  return oauth.processDiscoveryResponse(new URL(FRONT), res);
}

/** The client_credentials grant by oauth4webapi with `key`'s assertion → the token response. */
async function clientCredentials(as, client, key) {
  const res = await oauth.clientCredentialsGrantRequest(as, client, key.auth, new URLSearchParams(), insecure);
  return oauth.processClientCredentialsResponse(as, client, res);
}

/** The same grant, expected refused 401 invalid_client; the front's own field never shows. */
async function refusedGrant(as, client, key) {
  const res = await oauth.clientCredentialsGrantRequest(as, client, key.auth, new URLSearchParams(), insecure);
  const body = await res.clone().json();
  assert.equal(res.status, 401, JSON.stringify(body));
  assert.equal(body.error, "invalid_client", JSON.stringify(body));
  assert.equal(body.refresh_client_keys, undefined, JSON.stringify(body));
  // oauth4webapi rejects it as a challenge when the answer has WWW-Authenticate, else as the
  // body's error.
  await assert.rejects(oauth.processClientCredentialsResponse(as, client, res),
    (e) => (e instanceof oauth.ResponseBodyError && e.error === "invalid_client")
      || (e instanceof oauth.WWWAuthenticateChallengeError && e.status === 401));
  return body;
}

/** A client assertion made by hand with jose (for the requests oauth4webapi would not send). */
function assertion(key, clientId, aud, { jti = randomUUID() } = {}) {
  return new jose.SignJWT({ jti })
    .setProtectedHeader({ alg: "ES256", kid: key.kid })
    .setIssuer(clientId).setSubject(clientId).setAudience(aud)
    .setIssuedAt().setExpirationTime("1m").sign(key.pair.privateKey);
}

test("discovery names private_key_jwt and only asymmetric signing algorithms", async () => {
  const as = await discover();
  assert.ok(as.token_endpoint_auth_methods_supported.includes("private_key_jwt"));
  assert.ok(as.introspection_endpoint_auth_methods_supported.includes("private_key_jwt"));
  const algs = as.token_endpoint_auth_signing_alg_values_supported;
  assert.ok(algs.includes("ES256"), algs.join());
  assert.ok(!algs.some((a) => a === "none" || a.startsWith("HS")), algs.join());
});

test("keys at a jwks_uri: fetched on the first request, then used without fetching again", async () => {
  const as = await discover();
  const k1 = await clientKey("k1");
  const site = publish(k1);
  const client = signingClient(site.url);
  const entry = fetchEntry(client.client_id);
  assert.equal(entry.fetched_at, null);
  assert.deepEqual(entry.kids, []);

  // Nothing stored yet: the front fetches the keys and asks again, within the one request.
  const t = await clientCredentials(as, client, k1);
  assert.equal(claimsOf(t.access_token).client_id, client.client_id);
  assert.equal(site.fetched(), 1);
  assert.deepEqual(fetchEntry(client.client_id).kids, ["k1"]);
  assert.notEqual(fetchEntry(client.client_id).fetched_at, null);
  await clientCredentials(as, client, k1);
  assert.equal(site.fetched(), 1, "a known key needs no fetch");

  // A key it never published, with the stored set old enough for the database to ask: the
  // front fetched this client's keys a moment ago and does not fetch them again (made-up kids
  // cannot make us fetch more than once a minute per client).
  const madeUp = await clientKey("made-up");
  backdate(client.client_id);
  await refusedGrant(as, client, madeUp);
  assert.equal(site.fetched(), 1);
  await clientCredentials(as, client, k1);
});

test("a client rotates its published key: in on its next request once the stored set is over a minute old", async () => {
  const as = await discover();
  const k1 = await clientKey("k1");
  const site = publish(k1);
  const client = signingClient(site.url);
  // Stored as the front's timer stores them (it fetched k1 some time ago).
  sqlIn(`SELECT oauth.set_client_jwks(:'p1', :'p2'::jsonb, :'p3')`, client.client_id,
    JSON.stringify({ keys: [k1.jwk] }), site.url);
  await clientCredentials(as, client, k1);
  assert.equal(site.fetched(), 0);

  const k2 = await clientKey("k2");
  site.set(k2);
  // A set fetched a moment ago is not fetched again: refused, audited.
  const failures = failuresOf(client.client_id);
  await refusedGrant(as, client, k2);
  assert.equal(site.fetched(), 0);
  assert.equal(failuresOf(client.client_id), failures + 1);
  // Over a minute old: the front fetches the new set and the request goes through.
  backdate(client.client_id);
  const t = await clientCredentials(as, client, k2);
  assert.equal(claimsOf(t.access_token).client_id, client.client_id);
  assert.equal(site.fetched(), 1);
  assert.deepEqual(fetchEntry(client.client_id).kids, ["k2"]);
  // The key it no longer publishes is refused at once.
  await refusedGrant(as, client, k1);
  assert.equal(site.fetched(), 1);
});

test("a published set holding a private key is not stored: the fetch's error is recorded", async () => {
  const as = await discover();
  const k1 = await clientKey("k1");
  const site = publish();
  const privateJwk = { ...(await jose.exportJWK(k1.pair.privateKey)), kid: "k1", alg: "ES256", use: "sig" };
  assert.ok(privateJwk.d);
  site.setRaw({ keys: [privateJwk] });
  const client = signingClient(site.url);
  await refusedGrant(as, client, k1);
  assert.equal(site.fetched(), 1);
  const entry = fetchEntry(client.client_id);
  assert.deepEqual(entry.kids, []);
  assert.ok(entry.last_error, JSON.stringify(entry));
});

test("a replayed assertion is refused and audited; a secret beside an assertion is refused", async () => {
  const as = await discover();
  const k1 = await clientKey("k1");
  const site = publish(k1);
  const client = signingClient(site.url);
  const once = await assertion(k1, client.client_id, as.issuer);
  const form = { grant_type: "client_credentials", client_assertion_type: ASSERTION_TYPE, client_assertion: once };
  const first = await postForm("/oauth/token", form);
  assert.equal(first.status, 200, await first.clone().text());
  assert.equal((await first.json()).token_type, "Bearer");
  const failures = failuresOf(client.client_id);
  const replayed = await postForm("/oauth/token", form);
  const body = await replayed.json();
  assert.equal(replayed.status, 401, JSON.stringify(body));
  assert.equal(body.error, "invalid_client");
  assert.equal(failuresOf(client.client_id), failures + 1);
  assert.equal(site.fetched(), 1, "a replay is no reason to fetch");

  // One method per request: Basic or client_secret beside an assertion.
  const fresh = () => assertion(k1, client.client_id, `${FRONT}/oauth/token`);
  const withBasic = await postForm("/oauth/token", { ...form, client_assertion: await fresh() },
    basic(client.client_id, "guess"));
  assert.equal(withBasic.status, 400);
  assert.equal((await withBasic.json()).error, "invalid_request");
  const withSecret = await postForm("/oauth/token",
    { ...form, client_assertion: await fresh(), client_secret: "guess" });
  assert.equal(withSecret.status, 400);
  assert.equal((await withSecret.json()).error, "invalid_request");
  // Nor a secret alone, nor no authentication at all.
  const bySecret = await postForm("/oauth/token", { grant_type: "client_credentials" },
    basic(client.client_id, "guess"));
  assert.equal(bySecret.status, 401);
  const byId = await postForm("/oauth/token", { grant_type: "client_credentials", client_id: client.client_id });
  assert.equal(byId.status, 401);
  // The token endpoint's URL as audience is taken too.
  const ok = await postForm("/oauth/token", { ...form, client_assertion: await fresh() });
  assert.equal(ok.status, 200, await ok.clone().text());
});

test("a resource server with keys instead of a secret introspects tokens", async () => {
  const as = await discover();
  const jobKey = await clientKey("job");
  const job = signingClient(publish(jobKey).url);
  const t = await clientCredentials(as, job, jobKey);

  const rsKey = await clientKey("rs");
  const rsSite = publish(rsKey);
  const rs = signingClient(rsSite.url);
  const introspect = (key) => oauth.introspectionRequest(as, rs, key.auth, t.access_token, insecure);
  const answer = await oauth.processIntrospectionResponse(as, rs, await introspect(rsKey));
  assert.equal(answer.active, true);
  assert.equal(answer.client_id, job.client_id);
  assert.equal(rsSite.fetched(), 1);
  // Another client's key is not the resource server's.
  const res = await introspect(jobKey);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error, "invalid_client");

  // Revoked by its holder (by assertion), the token is inactive to the resource server.
  const revoked = await oauth.revocationRequest(as, job, jobKey.auth, t.access_token, insecure);
  await oauth.processRevocationResponse(revoked);
  const later = await oauth.processIntrospectionResponse(as, rs, await introspect(rsKey));
  assert.equal(later.active, false);
});
