// The short HTTP run that scripts/test.sh gives every PostgreSQL major besides the one that runs
// this whole directory (docs/testing.md#postgresql-majors): one complete OpenID Connect flow
// through oauth-front on that major's cluster, driven by openid-client (discovery, authorization
// code + PKCE through the consent API, ID token), its signature checked against the published
// JWKS by a second library (jose), a refresh, and introspection before and after revocation.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as oidc from "openid-client";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { FRONT, REDIRECT, createClient, consentThrough, sql } from "./helpers.js";

const insecure = { execute: [oidc.allowInsecureRequests] }; // loopback http only

test("complete flow with openid-client: code + PKCE, ID token against the JWKS, refresh, introspection", async () => {
  const major = sql("SELECT current_setting('server_version_num')::int / 10000");
  const c = createClient();
  const config = await oidc.discovery(new URL(FRONT), c.client_id, { redirect_uris: [REDIRECT] },
    oidc.ClientSecretBasic(c.client_secret), insecure);
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, FRONT);

  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: "openid email", state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });
  const callback = await consentThrough(url);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  assert.equal(tokens.claims().sub, "alice", `PostgreSQL ${major}`);

  // openid-client trusts the ID token it got over the token endpoint's connection; the
  // signature is checked here against the keys the server publishes.
  const jwks = createRemoteJWKSet(new URL(meta.jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(tokens.id_token, jwks, { issuer: FRONT, audience: c.client_id });
  assert.equal(payload.sub, "alice");
  assert.equal(payload.nonce, nonce);
  assert.equal(protectedHeader.alg, "ES256");

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  const active = await oidc.tokenIntrospection(config, refreshed.access_token);
  assert.equal(active.active, true);
  assert.equal(active.sub, "alice");
  assert.equal(active.client_id, c.client_id);

  await oidc.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: "refresh_token" });
  assert.equal((await oidc.tokenIntrospection(config, refreshed.access_token)).active, false);
  await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token), (e) => e.error === "invalid_grant");
});
