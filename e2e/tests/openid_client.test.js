// A complete OpenID Connect flow driven by openid-client (panva, certified relying-party
// library, on top of oauth4webapi): discovery, PKCE, code exchange with ID token validation,
// userinfo, refresh, revocation, introspection; then the failures a client must see.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as oidc from "openid-client";
import { FRONT, REDIRECT, createClient, consentThrough, sql } from "./helpers.js";

// A 401 with a WWW-Authenticate challenge: openid-client raises it as a challenge error.
const invalidClient = (e) => e instanceof oidc.WWWAuthenticateChallengeError && e.status === 401 &&
  e.cause?.[0]?.scheme === "basic";

const insecure = { execute: [oidc.allowInsecureRequests] }; // loopback http only

async function discover(c, auth) {
  return oidc.discovery(new URL(FRONT), c.client_id, { redirect_uris: [REDIRECT] }, auth, insecure);
}

/** An authorization URL for scope openid with an S256 challenge (of a throwaway verifier
 * unless one is given). */
async function authorizationUrl(config, { state, verifier = oidc.randomPKCECodeVerifier(), redirect_uri = REDIRECT } = {}) {
  return oidc.buildAuthorizationUrl(config, {
    redirect_uri, scope: "openid", ...(state ? { state } : {}),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });
}

async function authorizeAndExchange(config, { scope = "openid email profile" } = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope, state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });
  const callback = await consentThrough(url);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  return { tokens, callback, verifier };
}

test("discovery, PKCE code flow, ID token, userinfo, refresh, introspection, revocation", async () => {
  const c = createClient();
  const config = await discover(c, oidc.ClientSecretBasic(c.client_secret));
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, FRONT);
  assert.deepEqual(meta.code_challenge_methods_supported, ["S256"]);
  assert.equal(meta.authorization_response_iss_parameter_supported, true);

  const { tokens, callback } = await authorizeAndExchange(config);
  assert.equal(callback.searchParams.get("iss"), FRONT); // RFC 9207, checked by the library too
  const id = tokens.claims(); // signature, iss, aud, exp, nonce, at_hash: validated by openid-client
  assert.equal(id.sub, "alice");
  assert.equal(id.azp, c.client_id);
  assert.equal(id.email, "alice@example.com");
  assert.equal(id.email_verified, true);
  assert.equal(id.name, "alice");
  assert.ok(id.auth_time > 0);
  assert.equal(tokens.scope, "openid email profile");

  const info = await oidc.fetchUserInfo(config, tokens.access_token, id.sub);
  assert.deepEqual(
    Object.keys(info).sort(),
    ["email", "email_verified", "name", "preferred_username", "sub"],
  );

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  assert.notEqual(refreshed.access_token, tokens.access_token);

  const active = await oidc.tokenIntrospection(config, refreshed.access_token);
  assert.equal(active.active, true);
  assert.equal(active.client_id, c.client_id);
  assert.equal(active.sub, "alice");

  await oidc.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: "refresh_token" });
  assert.equal((await oidc.tokenIntrospection(config, refreshed.access_token)).active, false);
  await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token),
    (e) => e.error === "invalid_grant");
  await assert.rejects(oidc.fetchUserInfo(config, refreshed.access_token, id.sub),
    (e) => e.status === 401 || e.cause?.status === 401 || /invalid_token/.test(String(e.message) + JSON.stringify(e.cause ?? "")));
});

test("public client with client_secret_post-free PKCE flow", async () => {
  const c = createClient({ type: "public" });
  const config = await discover(c, oidc.None());
  const { tokens } = await authorizeAndExchange(config, { scope: "openid" });
  assert.equal(tokens.claims().sub, "alice");
  assert.equal(tokens.claims().email, undefined, "no email claim without the email scope");
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.access_token);
});

test("client_secret_post client", async () => {
  const c = createClient({ method: "client_secret_post" });
  const config = await discover(c, oidc.ClientSecretPost(c.client_secret));
  const { tokens } = await authorizeAndExchange(config, { scope: "openid" });
  assert.ok(tokens.access_token);
  // The registered method is the only one accepted.
  const basic = await discover(c, oidc.ClientSecretBasic(c.client_secret));
  await assert.rejects(authorizeAndExchange(basic, { scope: "openid" }), invalidClient);
});

test("wrong code_verifier is refused", async () => {
  const c = createClient();
  const config = await discover(c, oidc.ClientSecretBasic(c.client_secret));
  const state = oidc.randomState();
  const url = await authorizationUrl(config, { state });
  const callback = await consentThrough(url);
  await assert.rejects(
    oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: state }),
    (e) => e.error === "invalid_grant",
  );
});

test("a replayed code is refused and revokes what it issued", async () => {
  const c = createClient();
  const config = await discover(c, oidc.ClientSecretBasic(c.client_secret));
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = await authorizationUrl(config, { state, verifier });
  const callback = await consentThrough(url);
  const first = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  await assert.rejects(
    oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
    (e) => e.error === "invalid_grant",
  );
  await assert.rejects(oidc.refreshTokenGrant(config, first.refresh_token), (e) => e.error === "invalid_grant");
  assert.equal((await oidc.tokenIntrospection(config, first.access_token)).active, false);
});

test("a reused refresh token revokes the family", async () => {
  const c = createClient();
  const config = await discover(c, oidc.ClientSecretBasic(c.client_secret));
  const { tokens } = await authorizeAndExchange(config, { scope: "openid" });
  const next = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === "invalid_grant");
  // The legitimate holder's newer token is dead too: the family is revoked.
  await assert.rejects(oidc.refreshTokenGrant(config, next.refresh_token), (e) => e.error === "invalid_grant");
});

test("a wrong client secret is invalid_client (401)", async () => {
  const c = createClient();
  const good = await discover(c, oidc.ClientSecretBasic(c.client_secret));
  const { tokens } = await authorizeAndExchange(good, { scope: "openid" });
  const bad = await discover(c, oidc.ClientSecretBasic("not-the-secret"));
  await assert.rejects(oidc.refreshTokenGrant(bad, tokens.refresh_token), invalidClient);
});

test("an unregistered redirect URI is refused without a redirect", async () => {
  const c = createClient();
  const config = await discover(c, oidc.ClientSecretBasic(c.client_secret));
  const url = await authorizationUrl(config, { redirect_uri: "https://attacker.example/cb" });
  const res = await fetch(url, { redirect: "manual" });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("location"), null);
  assert.equal((await res.json()).error, "invalid_request");
});

test("denied consent reaches the client as access_denied", async () => {
  const c = createClient();
  const config = await discover(c, oidc.ClientSecretBasic(c.client_secret));
  const state = oidc.randomState();
  const url = await authorizationUrl(config, { state });
  const callback = await consentThrough(url, { user: "bob", approve: false });
  assert.equal(callback.searchParams.get("error"), "access_denied");
  assert.equal(callback.searchParams.get("state"), state);
  assert.equal(callback.searchParams.get("iss"), FRONT);
  assert.ok(sql("SELECT count(*) FROM oauth.consents WHERE user_id = 'bob'") === "0");
});
