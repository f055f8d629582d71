// The stand-in upstream providers of sign_in.test.js, checked on their own (no front, no
// database): each speaks its provider's protocol as a relying party sees it, and each
// misbehaviour hook does what it says. A relying party is played here with fetch and jose.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { AppleStandIn, GitHubStandIn, MicrosoftStandIn, TENANTS, WorkOSStandIn, halfHash, opLogin, startOidcProvider } from "./upstreams.js";
import { pkce } from "./helpers.js";

const RP = "http://127.0.0.1:9/signin"; // where the browser would be sent; never contacted
const apple = new AppleStandIn();
const ms = new MicrosoftStandIn();
const workos = new WorkOSStandIn();
const github = new GitHubStandIn();
let op;

before(async () => {
  await Promise.all([apple.start(), ms.start(), workos.start(), github.start()]);
  apple.redirectUris.add(`${RP}/apple/callback`);
  ms.redirectUris.add(`${RP}/microsoft/callback`);
  workos.redirectUris.add(`${RP}/workos/callback`);
  github.callbackUrl = `${RP}/github/callback`;
  op = await startOidcProvider({ redirectUri: `${RP}/op/callback`, accounts: { "una": { email_verified: false } } });
});

after(() => {
  for (const s of [apple, ms, workos, github, op]) s?.stop();
});

const form = (o) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(o).toString() });
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url"));

function appleAuthorize(extra = {}) {
  const u = new URL(`${apple.base}/auth/authorize`);
  u.search = new URLSearchParams({ client_id: apple.clientId, redirect_uri: `${RP}/apple/callback`,
    response_type: "code", scope: "name email", response_mode: "form_post", state: "st-1", nonce: "n-1", ...extra });
  return u.toString();
}

async function appleToken(code, secret, extra = {}) {
  return fetch(`${apple.base}/auth/token`, form({ client_id: apple.clientId, client_secret: secret, code,
    grant_type: "authorization_code", redirect_uri: `${RP}/apple/callback`, ...extra }));
}

test("apple: form_post is required for name/email; the first sign-in carries `user`, the next does not", async () => {
  const q = await apple.login(appleAuthorize({ response_mode: "query" }));
  assert.equal(q.refused, 400);
  assert.match(q.body, /form_post/);
  assert.equal((await apple.login(appleAuthorize({ redirect_uri: "http://127.0.0.1:9/elsewhere" }))).refused, 400);
  apple.forgetAuthorizations();
  const first = await apple.login(appleAuthorize(), { user: "alice" });
  assert.equal(first.method, "POST");
  assert.equal(first.url, `${RP}/apple/callback`);
  assert.equal(first.form.state, "st-1");
  assert.deepEqual(JSON.parse(first.form.user), { name: { firstName: "Alice", lastName: "Appleseed" }, email: "alice@example.com" });
  const second = await apple.login(appleAuthorize(), { user: "alice" });
  assert.ok(second.form.code);
  assert.equal(second.form.user, undefined);
  const cancelled = await apple.login(appleAuthorize(), { cancel: true });
  assert.equal(cancelled.form.error, "user_cancelled_authorize");
});

test("apple: the client secret must be an ES256 JWT of the registered key with Apple's claims", async () => {
  const cb = await apple.login(appleAuthorize(), { user: "bob" });
  const now = Math.floor(Date.now() / 1000);
  const bad = [
    await apple.clientSecret({}, { kid: "OTHERKEY00" }),
    await apple.clientSecret({ aud: "https://example.com" }),
    await apple.clientSecret({ iss: "OTHERTEAM0" }),
    await apple.clientSecret({ sub: "com.example.other" }),
    await apple.clientSecret({ iat: now - 7200, exp: now - 60 }),
    await apple.clientSecret({ iat: now, exp: now + 15777001 }),
    await apple.clientSecret({}, { key: new AppleStandIn().privateKeyPem }),
    "not-a-jwt",
  ];
  for (const secret of bad) {
    const res = await appleToken(cb.form.code, secret);
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: "invalid_client" });
  }
  assert.ok(apple.clientSecrets.slice(-bad.length).every((c) => !c.ok && c.why));
  // The code was not spent by the refused attempts.
  const res = await appleToken(cb.form.code, await apple.clientSecret({ iat: now, exp: now + 15777000 }));
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(apple.clientSecrets.at(-1).ok, true);
  const { payload, protectedHeader } = await jwtVerify(body.id_token, createRemoteJWKSet(new URL(`${apple.base}/auth/keys`)),
    { issuer: apple.base, audience: apple.clientId, algorithms: ["RS256"] });
  assert.equal(protectedHeader.alg, "RS256");
  assert.equal(payload.sub, apple.users.get("bob").sub);
  assert.equal(payload.nonce, "n-1");
  assert.equal(payload.nonce_supported, true);
  assert.equal(payload.email_verified, "true");
  assert.equal(payload.is_private_email, "true");
  assert.equal(payload.at_hash, halfHash(body.access_token));
  assert.equal(typeof payload.auth_time, "number");
  // A code is single use.
  const again = await appleToken(cb.form.code, await apple.clientSecret());
  assert.equal((await again.json()).error, "invalid_grant");
});

test("apple: misbehaviour hooks change the next ID token only; rotation changes the kid", async () => {
  const secret = await apple.clientSecret();
  const jwks = (await (await fetch(`${apple.base}/auth/keys`)).json()).keys.map((k) => k.kid);
  const next = async (faults) => {
    if (faults) apple.misbehave(faults);
    const cb = await apple.login(appleAuthorize(), { user: "carol" });
    return (await (await appleToken(cb.form.code, secret)).json()).id_token;
  };
  assert.equal(claimsOf(await next({ nonce: "other" })).nonce, "other");
  assert.equal(claimsOf(await next()).nonce, "n-1");
  assert.equal(claimsOf(await next({ aud: "com.example.evil" })).aud, "com.example.evil");
  assert.equal(claimsOf(await next({ iss: "https://appleid.apple.com" })).iss, "https://appleid.apple.com");
  assert.ok(claimsOf(await next({ expired: true })).exp < Date.now() / 1000);
  assert.ok(!jwks.includes(decodeProtectedHeader(await next({ unknownKid: true })).kid));
  const kid = await apple.keys.rotate();
  assert.equal(decodeProtectedHeader(await next()).kid, kid);
  assert.ok(!jwks.includes(kid));
});

test("microsoft: the common endpoint's issuer is a template; tokens name the user's tenant; PKCE and the secret are checked", async () => {
  const d = await (await fetch(`${ms.base}/common/v2.0/.well-known/openid-configuration`)).json();
  assert.equal(d.issuer, `${ms.base}/{tenantid}/v2.0`);
  assert.equal(d.jwks_uri, `${ms.base}/common/discovery/v2.0/keys`);
  const t = await (await fetch(`${ms.base}/${TENANTS.fabrikam}/v2.0/.well-known/openid-configuration`)).json();
  assert.equal(t.issuer, `${ms.base}/${TENANTS.fabrikam}/v2.0`);
  const p = pkce();
  const authorize = (tenant = "common") => `${ms.base}/${tenant}/oauth2/v2.0/authorize?${new URLSearchParams({
    client_id: ms.clientId, response_type: "code", redirect_uri: `${RP}/microsoft/callback`, scope: "openid email profile",
    state: "s", nonce: "n", code_challenge: p.challenge, code_challenge_method: "S256" })}`;
  // A tenant's own endpoint offers only its users.
  const page = await (await fetch(authorize(TENANTS.contoso))).text();
  assert.ok(page.includes('value="alice"') && !page.includes('value="bob"'));
  const cb = await ms.login(authorize(), { user: "bob" });
  const code = new URL(cb.url).searchParams.get("code");
  const exchange = (extra) => fetch(`${ms.base}/common/oauth2/v2.0/token`, form({ client_id: ms.clientId, client_secret: ms.clientSecret,
    grant_type: "authorization_code", code, redirect_uri: `${RP}/microsoft/callback`, code_verifier: p.verifier, ...extra }));
  const wrongSecret = await exchange({ client_secret: "nope" });
  assert.equal(wrongSecret.status, 401);
  assert.equal((await wrongSecret.json()).error, "invalid_client");
  const ok = await exchange();
  const body = await ok.json();
  assert.equal(ok.status, 200, JSON.stringify(body));
  const bob = ms.users.get("bob");
  const { payload } = await jwtVerify(body.id_token, createRemoteJWKSet(new URL(d.jwks_uri)),
    { issuer: `${ms.base}/${bob.tid}/v2.0`, audience: ms.clientId });
  assert.equal(payload.tid, TENANTS.fabrikam);
  assert.equal(payload.oid, bob.oid);
  assert.equal(payload.nonce, "n");
  assert.equal(payload.email, "bob@fabrikam.example");
  assert.equal(payload.xms_edov, true);
  assert.notEqual(payload.sub, bob.oid);
  assert.equal((await exchange()).status, 400); // replay
  // PKCE: a wrong verifier is refused.
  const cb2 = await ms.login(authorize(), { user: "dave" });
  const bad = await fetch(`${ms.base}/common/oauth2/v2.0/token`, form({ client_id: ms.clientId, client_secret: ms.clientSecret,
    grant_type: "authorization_code", code: new URL(cb2.url).searchParams.get("code"), redirect_uri: `${RP}/microsoft/callback`,
    code_verifier: pkce().verifier }));
  assert.match((await bad.json()).error_description, /^AADSTS501481/);
  assert.equal(ms.last(/\/authorize$/).query.code_challenge, p.challenge);
});

test("workos: exactly one selector; the token answers the profile; /sso/profile needs the access token", async () => {
  const authorize = (sel) => `${workos.base}/sso/authorize?${new URLSearchParams({ client_id: workos.clientId,
    redirect_uri: `${RP}/workos/callback`, response_type: "code", state: "w", ...sel })}`;
  assert.equal((await fetch(authorize({}))).status, 422);
  assert.equal((await fetch(authorize({ connection: "conn_01HOKTA", organization: "org_01HACME" }))).status, 422);
  const page = await (await fetch(authorize({ connection: "conn_01HOKTA" }))).text();
  assert.ok(page.includes('value="alice"') && !page.includes('value="eve"'));
  const cb = await workos.login(authorize({ organization: "org_01HGLOBEX" }), { user: "eve" });
  const code = new URL(cb.url).searchParams.get("code");
  const token = (secret) => fetch(`${workos.base}/sso/token`, form({ client_id: workos.clientId, client_secret: secret,
    grant_type: "authorization_code", code }));
  assert.equal((await token("sk_test_wrong")).status, 401);
  const res = await token(workos.apiKey);
  const body = await res.json();
  assert.equal(res.status, 200);
  assert.equal(body.profile.object, "profile");
  assert.equal(body.profile.id, "prof_01HEVE");
  assert.equal(body.profile.connection_type, "AzureSAML");
  assert.equal(body.profile.organization_id, "org_01HGLOBEX");
  assert.deepEqual(body.profile.raw_attributes, {});
  const prof = await fetch(`${workos.base}/sso/profile`, { headers: { authorization: `Bearer ${body.access_token}` } });
  assert.deepEqual(await prof.json(), body.profile);
  assert.equal((await fetch(`${workos.base}/sso/profile`)).status, 401);
  assert.equal((await token(workos.apiKey)).status, 400); // replay
});

test("github: JSON only when asked, errors as HTTP 200, PKCE, a User-Agent required, emails with verification", async () => {
  const p = pkce();
  const authorize = () => `${github.base}/login/oauth/authorize?${new URLSearchParams({ client_id: github.clientId,
    redirect_uri: `${RP}/github/callback`, scope: "read:user user:email", state: "g",
    code_challenge: p.challenge, code_challenge_method: "S256" })}`;
  const outside = await github.login(`${github.base}/login/oauth/authorize?client_id=${github.clientId}&redirect_uri=http://127.0.0.1:9/other`);
  assert.equal(outside.refused, 302);
  assert.equal(new URL(outside.location).searchParams.get("error"), "redirect_uri_mismatch");
  assert.ok(outside.location.startsWith(github.callbackUrl));
  const cb = await github.login(authorize(), { user: "ursula" });
  const code = new URL(cb.url).searchParams.get("code");
  const exchange = (headers, extra = {}) => fetch(`${github.base}/login/oauth/access_token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({ client_id: github.clientId, client_secret: github.clientSecret, code,
      redirect_uri: `${RP}/github/callback`, code_verifier: p.verifier, ...extra }) });
  const wrongVerifier = await exchange({ accept: "application/json" }, { code_verifier: pkce().verifier });
  assert.equal(wrongVerifier.status, 200);
  assert.equal((await wrongVerifier.json()).error, "bad_verification_code");
  const cb2 = await github.login(authorize(), { user: "ursula" });
  const res = await fetch(`${github.base}/login/oauth/access_token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: github.clientId, client_secret: github.clientSecret,
      code: new URL(cb2.url).searchParams.get("code"), code_verifier: p.verifier }) });
  const text = await res.text();
  assert.match(res.headers.get("content-type"), /x-www-form-urlencoded/);
  const token = new URLSearchParams(text).get("access_token");
  assert.match(token, /^gho_/);
  assert.equal(new URLSearchParams(text).get("scope"), "read:user,user:email");
  const replay = await exchange({ accept: "application/json" });
  assert.equal(replay.status, 200);
  assert.equal((await replay.json()).error, "bad_verification_code");
  assert.equal((await fetch(`${github.base}/user`, { headers: { authorization: `Bearer ${token}`, "user-agent": "" } })).status, 403);
  assert.equal((await fetch(`${github.base}/user`, { headers: { "user-agent": "t" } })).status, 401);
  const user = await (await fetch(`${github.base}/user`, { headers: { authorization: `Bearer ${token}`, "user-agent": "t" } })).json();
  assert.equal(user.id, 34567);
  assert.equal(typeof user.id, "number");
  assert.equal(user.email, null);
  const emails = await (await fetch(`${github.base}/user/emails`, { headers: { authorization: `token ${token}`, "user-agent": "t" } })).json();
  assert.deepEqual(emails.find((e) => e.primary), { email: "ursula@example.com", primary: true, verified: false, visibility: "private" });
});

test("oidc-provider: the development login, PKCE required, email and name in the ID token", async () => {
  const d = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  const p = pkce();
  const authorize = (extra = {}) => `${d.authorization_endpoint}?${new URLSearchParams({ client_id: op.clientId, response_type: "code",
    redirect_uri: `${RP}/op/callback`, scope: "openid email profile", state: "o", nonce: "n-op",
    code_challenge: p.challenge, code_challenge_method: "S256", ...extra })}`;
  const noPkce = new URL(await opLogin(`${d.authorization_endpoint}?${new URLSearchParams({ client_id: op.clientId,
    response_type: "code", redirect_uri: `${RP}/op/callback`, scope: "openid", state: "x" })}`));
  assert.equal(noPkce.searchParams.get("error"), "invalid_request");
  const back = new URL(await opLogin(authorize(), { login: "una" }));
  assert.equal(back.searchParams.get("iss"), op.issuer);
  const res = await fetch(d.token_endpoint, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded",
    authorization: "Basic " + Buffer.from(`${op.clientId}:${op.clientSecret}`).toString("base64") },
  body: new URLSearchParams({ grant_type: "authorization_code", code: back.searchParams.get("code"),
    redirect_uri: `${RP}/op/callback`, code_verifier: p.verifier }) });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  const { payload } = await jwtVerify(body.id_token, createRemoteJWKSet(new URL(d.jwks_uri)), { issuer: op.issuer, audience: op.clientId });
  assert.equal(payload.sub, "una");
  assert.equal(payload.nonce, "n-op");
  assert.equal(payload.email, "una@op.example");
  assert.equal(payload.email_verified, false);
  assert.equal(payload.name, "una (op)");
});
