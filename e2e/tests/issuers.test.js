// Sessions from trusted third-party issuers through the front. Stand-in issuers on loopback
// serve discovery documents and JWKS the way Clerk, Firebase Auth, Amazon Cognito and WorkOS
// do, and sign tokens with the claims those providers document. The database starts with
// no keys for them: the front discovers and fetches the keys when a session first arrives.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { FRONT, REDIRECT, basic, bearer, consentThrough, createClient, pkce, postForm, sql } from "./helpers.js";
import { StandInServer } from "./stand_in_issuers.js";

const stand = new StandInServer();
const now = () => Math.floor(Date.now() / 1000);
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url"));

/** Trusts an issuer, as the README's recipe for its provider says. */
function trust(issuer, options = {}) {
  return JSON.parse(sql("SELECT oauth.add_issuer(:'p1', :'p2'::jsonb)", issuer.issuer, JSON.stringify(options)));
}

const issuers = {};

before(async () => {
  await stand.start();
  // Clerk: the instance's Frontend API is the issuer; discovery and JWKS under it.
  issuers.clerk = await stand.issuer("/clerk");
  // Firebase: one Google key set for every project; iss and aud name the project.
  const google = await stand.keySet("/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com");
  issuers.firebase = await stand.issuer("/securetoken/project-a", { keySet: google });
  issuers.otherFirebaseProject = await stand.issuer("/securetoken/project-b", { keySet: google });
  // Cognito: the user pool is the issuer.
  issuers.cognito = await stand.issuer("/eu-west-1_AbCdEf");
  // WorkOS AuthKit: JWKS at /sso/jwks/<client id>, configured rather than discovered.
  issuers.workos = await stand.issuer("/user_management/client_01HXYZ", {
    jwksPath: "/sso/jwks/client_01HXYZ", discovery: false,
  });
  trust(issuers.clerk);
  trust(issuers.firebase, { shared_keys: true, audience: "project-a" });
  trust(issuers.cognito, {
    audience: "3n4b5urk1ft4fl3mg5e62d9ado", audience_claim: "client_id",
    required_claims: { token_use: "access" },
  });
  trust(issuers.workos, { jwks_uri: issuers.workos.jwksUri, role_claim: null });
});

after(() => stand.stop());

// Each provider's session token, with the claims its documentation shows.
const sessions = {
  clerk: (sub) => issuers.clerk.token({
    azp: "http://localhost:3000", sub, sid: "sess_2c3d", nbf: now() - 5, v: 2, fva: [0, -1],
    // Clerk's Supabase integration adds the role; email comes from a session token template.
    role: "authenticated", email: `${sub}@clerk.example`,
  }),
  firebase: (sub, { emailVerified = true } = {}) => issuers.firebase.token({
    aud: "project-a", auth_time: now() - 30, user_id: sub, sub,
    email: `${sub}@gmail.example`, email_verified: emailVerified,
    firebase: { identities: { email: [`${sub}@gmail.example`] }, sign_in_provider: "password" },
  }),
  cognito: (sub) => issuers.cognito.token({
    sub, "cognito:groups": ["readers"], version: 2, client_id: "3n4b5urk1ft4fl3mg5e62d9ado",
    origin_jti: "6f0c2f2e", event_id: "d5e9", token_use: "access", scope: "aws.cognito.signin.user.admin",
    auth_time: now() - 30, jti: "9a2c", username: sub,
  }),
  workos: (sub) => issuers.workos.token({
    sub, sid: "session_01HQ", jti: "01HQJ", org_id: "org_01HQ", role: "member", permissions: ["posts:read"],
  }),
};

/** authorize → consent with `token` → code exchange; returns the token response. */
async function flow(token, { scope = "openid email", client = createClient() } = {}) {
  const { verifier, challenge } = pkce();
  const url = new URL(`${FRONT}/oauth/authorize`);
  url.search = new URLSearchParams({
    response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT, scope,
    state: "s1", code_challenge: challenge, code_challenge_method: "S256",
  });
  const back = await consentThrough(url, { token });
  const code = back.searchParams.get("code");
  assert.ok(code, `no code: ${back}`);
  const res = await postForm("/oauth/token", {
    grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier,
  }, basic(client.client_id, client.client_secret));
  assert.equal(res.status, 200);
  return res.json();
}

/** The front's answer to the consent page asking for an authorization with `token`. */
async function consentPageWith(token) {
  const c = createClient();
  const { challenge } = pkce();
  const url = `${FRONT}/oauth/authorize?` + new URLSearchParams({
    response_type: "code", client_id: c.client_id, redirect_uri: REDIRECT, scope: "openid",
    code_challenge: challenge, code_challenge_method: "S256",
  });
  const loc = new URL((await fetch(url, { redirect: "manual" })).headers.get("location"));
  const res = await fetch(`${FRONT}/oauth/authorizations/${loc.searchParams.get("authorization_id")}`,
    { headers: bearer(token) });
  return { status: res.status, body: await res.json() };
}

for (const [provider, sub] of [["clerk", "user_2abcClerk"], ["firebase", "fbUid123"],
  ["cognito", "8f1e6c2a-2b1d-4a7e-9a51-7c2b1d4a7e9a"], ["workos", "user_01HWORKOS"]]) {
  test(`a ${provider}-shaped session completes consent through the front`, async () => {
    const t = await flow(await sessions[provider](sub));
    const id = claimsOf(t.id_token);
    assert.equal(id.sub, sub);
    assert.equal(claimsOf(t.access_token).sub, sub);
    const info = await (await fetch(`${FRONT}/oauth/userinfo`, { headers: bearer(t.access_token) })).json();
    assert.equal(info.sub, sub);
    // Only Firebase says the email is verified; Clerk's template carries no such claim.
    if (provider === "firebase") assert.equal(info.email_verified, true);
    if (provider === "clerk") assert.equal(info.email_verified, false);
  });
}

test("an unverified upstream email is never called verified", async () => {
  const t = await flow(await sessions.firebase("fbUnverified", { emailVerified: false }));
  assert.equal(claimsOf(t.id_token).email_verified, false);
});

test("refused sessions: untrusted issuer, wrong audience, other Firebase project, expired, unknown kid, none, HS256, tampered", async () => {
  const untrusted = await stand.issuer("/not-trusted");
  const good = await sessions.clerk("user_x");
  const goodClaims = claimsOf(good);
  const header = (h) => Buffer.from(JSON.stringify(h)).toString("base64url");
  const body = Buffer.from(JSON.stringify(goodClaims)).toString("base64url");
  const [h, , sig] = good.split(".");
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...goodClaims, sub: "user_admin" })).toString("base64url")}.${sig}`;
  // alg confusion: HS256 keyed with the issuer's public key, which anyone can download.
  const clerkKey = issuers.clerk.keySet.keys[0];
  const hsInput = `${header({ alg: "HS256", typ: "JWT", kid: clerkKey.kid })}.${body}`;
  const hs256Forgery = `${hsInput}.${createHmac("sha256", JSON.stringify(clerkKey.jwk)).update(hsInput).digest("base64url")}`;
  const strangerKey = (await stand.keySet("/stranger-keys")).keys[0];
  const cases = [
    [await untrusted.token({ sub: "u" }), "is not trusted"],
    [await issuers.firebase.token({ sub: "u", aud: "project-b" }), "audience"],
    [await issuers.otherFirebaseProject.token({ sub: "u", aud: "project-b" }), "is not trusted"],
    [await issuers.cognito.token({ sub: "u", client_id: "another-app", token_use: "access" }), "audience"],
    [await issuers.clerk.token({ sub: "u", role: "authenticated", exp: now() - 600 }), "expired"],
    [await issuers.clerk.token({ sub: "u" }, { key: strangerKey }), "is not among the keys"],
    [`${header({ alg: "none", kid: issuers.clerk.keySet.keys[0].kid })}.${body}.`, "\"none\" is not accepted"],
    [hs256Forgery, "\"HS256\" is not accepted"],
    [tampered, "signature"],
    [await issuers.clerk.token({ sub: "u", role: "service_role" }), "role"],
  ];
  for (const [token, why] of cases) {
    const { status, body: b } = await consentPageWith(token);
    assert.equal(status, 401, `${why}: ${JSON.stringify(b)}`);
    assert.equal(b.error, "invalid_token");
    assert.ok(b.error_description.includes(why), `${why}: ${b.error_description}`);
  }
});

test("an issuer's key rotation is picked up at once, with at most one fetch a minute for unknown keys", async () => {
  const issuer = await stand.issuer("/rotating");
  // Keys given at registration: no fetch needed for the first session.
  trust(issuer, { jwks: issuer.keySet.jwks() });
  const oldKey = issuer.keySet.keys[0];
  const fetches = () => issuer.keySet.fetches;
  assert.equal((await consentPageWith(await issuer.token({ sub: "u1" }))).status, 200);
  assert.equal(fetches(), 0);

  await issuer.keySet.rotate();
  // A session signed with the new key: the front refreshes the keys and accepts it.
  const concurrent = await Promise.all(Array.from({ length: 4 }, async () =>
    (await consentPageWith(await issuer.token({ sub: "u1" }))).status));
  assert.deepEqual(concurrent, [200, 200, 200, 200]);
  assert.equal(fetches(), 1, "one fetch for four concurrent sessions");
  // The retired key no longer verifies.
  assert.equal((await consentPageWith(await issuer.token({ sub: "u1" }, { key: oldKey }))).status, 401);

  // Another rotation within the minute: unknown keys do not trigger another fetch yet.
  await issuer.keySet.rotate();
  const r = await consentPageWith(await issuer.token({ sub: "u1" }));
  assert.equal(r.status, 401);
  assert.equal(fetches(), 1);
});

test("the refresh timer replaces keys without any session arriving", { skip: !process.env.FRONT_BIN && "FRONT_BIN not set" }, async () => {
  const issuer = await stand.issuer("/timer");
  trust(issuer, { jwks: issuer.keySet.jwks() });
  const newKid = await issuer.keySet.rotate();
  const kids = () => JSON.parse(sql("SELECT oauth.issuers()")).find((i) => i.issuer === issuer.issuer).kids;
  assert.notDeepEqual(kids(), [newKid]);
  const front = spawn(process.env.FRONT_BIN, ["--listen", "127.0.0.1:0", "--jwks-refresh-interval", "1",
    "--purge-interval", "0", "--log-format", "text", "--allow-private-fetch"], { stdio: "ignore" });
  try {
    let seen = [];
    for (let i = 0; i < 50 && !(seen.length === 1 && seen[0] === newKid); i++) {
      await new Promise((r) => setTimeout(r, 200));
      seen = kids();
    }
    assert.deepEqual(seen, [newKid]);
    assert.ok(issuer.keySet.fetches >= 1);
  } finally {
    front.kill();
  }
  // The main front verifies with the stored keys: no fetch of its own.
  const before = issuer.keySet.fetches;
  assert.equal((await consentPageWith(await issuer.token({ sub: "t1" }))).status, 200);
  assert.equal(issuer.keySet.fetches, before);
});

test("a failed refresh keeps the stored keys and records the error", async () => {
  const issuer = await stand.issuer("/flaky");
  trust(issuer, { jwks: issuer.keySet.jwks(), jwks_uri: `${stand.base}/flaky/gone.json` });
  // An unknown kid makes the front fetch; the URL answers 404.
  const stranger = (await stand.keySet("/flaky-stranger")).keys[0];
  assert.equal((await consentPageWith(await issuer.token({ sub: "u" }, { key: stranger }))).status, 401);
  const row = JSON.parse(sql("SELECT oauth.issuers()")).find((i) => i.issuer === issuer.issuer);
  assert.match(row.last_error, /HTTP 404/);
  assert.equal((await consentPageWith(await issuer.token({ sub: "u" }))).status, 200);
});

test("each issuer's users see only their own grants", async () => {
  const clerkUser = await sessions.clerk("user_grants_c");
  const fbUser = await sessions.firebase("fb_grants_f");
  const c1 = createClient({ name: "App of a Clerk user" });
  const c2 = createClient({ name: "App of a Firebase user" });
  await flow(clerkUser, { client: c1 });
  await flow(fbUser, { client: c2 });
  const list = async (t) => (await (await fetch(`${FRONT}/oauth/grants`, { headers: bearer(t) })).json())
    .map((g) => g.client.client_id);
  assert.deepEqual(await list(clerkUser), [c1.client_id]);
  assert.deepEqual(await list(fbUser), [c2.client_id]);
});

test("issuer keys are fenced like client documents: without --allow-private-fetch a loopback issuer is never fetched", { skip: !process.env.FRONT_BIN && "FRONT_BIN not set" }, async () => {
  const issuer = await stand.issuer("/fenced");
  trust(issuer);
  const front = spawn(process.env.FRONT_BIN, ["--listen", "127.0.0.1:0", "--jwks-refresh-interval", "1",
    "--purge-interval", "0", "--log-format", "text"], { stdio: "ignore" });
  try {
    let row = {};
    for (let i = 0; i < 50 && !row.last_error; i++) {
      await new Promise((r) => setTimeout(r, 200));
      row = JSON.parse(sql("SELECT oauth.issuers()")).find((i) => i.issuer === issuer.issuer);
    }
    assert.match(row.last_error ?? "", /public addresses/);
    assert.equal(issuer.keySet.fetches, 0, "the loopback stand-in was reached");
  } finally {
    front.kill();
  }
});
