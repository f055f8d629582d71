// Token exchange (RFC 8693) over HTTP: a user's token of one app, issued for an MCP server,
// exchanged by the MCP server's agent (openid-client's genericGrantRequest, as its docs show
// for this grant) for a token to another API; jose verifies what came back against the
// server's JWKS, introspection shows the delegation, and revoking the user's token at the
// revocation endpoint ends the derived one. Then what the agent is refused without a rule, or
// with an ID token as its subject.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as oidc from "openid-client";
import * as jose from "jose";
import { FRONT, REDIRECT, basic, consentThrough, createClient, postForm, sql } from "./helpers.js";

const EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS = "urn:ietf:params:oauth:token-type:access_token";
const MCP = `${FRONT}/te-mcp`;
const API = `${FRONT}/te-api`;
const insecure = { execute: [oidc.allowInsecureRequests] }; // loopback http only

function setUp() {
  sql(`SELECT oauth.set_scope('te:read', 'Read');
       SELECT oauth.add_resource(:'p1'); SELECT oauth.add_resource(:'p2');`, MCP, API);
  const app = createClient();
  const agent = createClient({ grants: `${EXCHANGE}`, redirect: "https://agent.example/unused" });
  return { app, agent };
}

/** The user's token of `app` for the MCP server, through openid-client's code flow. */
async function userToken(app, user) {
  const config = await oidc.discovery(new URL(FRONT), app.client_id,
    { redirect_uris: [REDIRECT] }, oidc.ClientSecretBasic(app.client_secret), insecure);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: "openid te:read",
    resource: MCP, code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256" });
  const callback = await consentThrough(url, { user });
  return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, idTokenExpected: true },
    { resource: MCP });
}

test("an agent acts for the user toward another API: act verified, introspected, revoked with its source", async () => {
  const { app, agent } = setUp();
  sql("SELECT oauth.allow_token_exchange(:'p1', :'p2', :'p3', ARRAY['te:read'], true)",
    agent.client_id, MCP, API);
  const user = await userToken(app, "te-alice");
  const config = await oidc.discovery(new URL(FRONT), agent.client_id, {},
    oidc.ClientSecretBasic(agent.client_secret), insecure);
  assert.ok(config.serverMetadata().grant_types_supported.includes(EXCHANGE));
  const got = await oidc.genericGrantRequest(config, EXCHANGE, {
    subject_token: user.access_token, subject_token_type: ACCESS, audience: API, scope: "te:read",
  });
  assert.equal(got.issued_token_type, ACCESS);
  assert.equal(got.token_type.toLowerCase(), "bearer");
  assert.equal(got.refresh_token, undefined);

  const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(got.access_token, jwks,
    { issuer: FRONT, audience: API, typ: "at+jwt" });
  assert.equal(protectedHeader.typ, "at+jwt");
  assert.equal(payload.sub, "te-alice");
  assert.equal(payload.client_id, agent.client_id);
  assert.deepEqual(payload.act, { sub: agent.client_id, client_id: agent.client_id });
  assert.ok(payload.exp <= (await jose.decodeJwt(user.access_token)).exp);

  const introspected = await oidc.tokenIntrospection(config, got.access_token);
  assert.equal(introspected.active, true);
  assert.deepEqual(introspected.act, payload.act);

  // The user's app revokes the user's token: the derived one is inactive at once.
  const appConfig = await oidc.discovery(new URL(FRONT), app.client_id, {},
    oidc.ClientSecretBasic(app.client_secret), insecure);
  await oidc.tokenRevocation(appConfig, user.access_token);
  assert.equal((await oidc.tokenIntrospection(config, got.access_token)).active, false);
});

test("no rule, an ID token or a wrong type as the subject: the RFC's errors", async () => {
  const { app, agent } = setUp();
  const user = await userToken(app, "te-bob");
  const exchange = (form) => postForm("/oauth/token", { grant_type: EXCHANGE, audience: MCP, ...form },
    basic(agent.client_id, agent.client_secret));
  const refused = async (res, status, error) => {
    const body = await res.json();
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(body.error, error, JSON.stringify(body));
  };
  // No rule from the MCP server to itself for this agent.
  await refused(await exchange({ subject_token: user.access_token, subject_token_type: ACCESS }),
    400, "unauthorized_client");
  sql("SELECT oauth.allow_token_exchange(:'p1', :'p2', :'p2', ARRAY['te:read'], true)", agent.client_id, MCP);
  await refused(await exchange({ subject_token: user.id_token, subject_token_type: ACCESS }),
    400, "invalid_request");
  await refused(await exchange({ subject_token: user.id_token,
    subject_token_type: "urn:ietf:params:oauth:token-type:id_token" }), 400, "invalid_request");
  await refused(await exchange({ subject_token: user.access_token }), 400, "invalid_request");
  const ok = await exchange({ subject_token: user.access_token, subject_token_type: ACCESS });
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.equal(ok.headers.get("cache-control"), "no-store");
});
