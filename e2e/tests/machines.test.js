// Machines and devices over HTTP: the client credentials grant, the device authorization
// grant (RFC 8628) with the user code entered through the consent API, protected resource
// metadata (RFC 9728) served by the front, and the resource_metadata challenge of userinfo.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FRONT, basic, bearer, postForm, session, sql } from "./helpers.js";

const DEVICE = "urn:ietf:params:oauth:grant-type:device_code";
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url"));
const API = `${FRONT}/api`;

function client(grants, type = "confidential", redirect = "{}") {
  return JSON.parse(sql(`SELECT oauth.create_client('Machine', '${redirect}'::text[], '${type}',
    grant_types => string_to_array(:'p1', ','))`, grants));
}

test("client_credentials: a token for the client itself, for a registered resource", async () => {
  sql("SELECT oauth.add_resource(:'p1', 'Reports API')", API);
  const c = client("client_credentials");
  const res = await postForm("/oauth/token", { grant_type: "client_credentials", resource: API },
    basic(c.client_id, c.client_secret));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const t = await res.json();
  const claims = claimsOf(t.access_token);
  assert.equal(claims.sub, c.client_id);
  assert.equal(claims.aud, API);
  assert.equal(t.refresh_token, undefined);
  const wrong = await postForm("/oauth/token", { grant_type: "client_credentials" }, basic(c.client_id, "nope"));
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error, "invalid_client");
  const other = await postForm("/oauth/token", { grant_type: "client_credentials", resource: "https://x.example/" },
    basic(c.client_id, c.client_secret));
  assert.equal((await other.json()).error, "invalid_target");
});

test("device grant: pending, slow_down, a wrong user code, approval, tokens", async () => {
  const c = client(`${DEVICE},refresh_token`, "public");
  const started = await postForm("/oauth/device_authorization", { client_id: c.client_id, scope: "openid" });
  assert.equal(started.status, 200);
  const d = await started.json();
  assert.equal(d.verification_uri, `${FRONT}/consent`);
  assert.equal(new URL(d.verification_uri_complete).searchParams.get("user_code"), d.user_code);
  const poll = async () => {
    const res = await postForm("/oauth/token", { grant_type: DEVICE, device_code: d.device_code, client_id: c.client_id });
    return { status: res.status, body: await res.json() };
  };
  assert.deepEqual(await poll().then((p) => [p.status, p.body.error]), [400, "authorization_pending"]);
  assert.equal((await poll()).body.error, "slow_down");

  const token = await session("tv-viewer");
  const wrong = await fetch(`${FRONT}/oauth/authorizations/BCDF-GHJK`, { headers: bearer(token) });
  assert.equal(wrong.status, 404);
  const shown = await fetch(`${FRONT}/oauth/authorizations/${encodeURIComponent(d.user_code)}`, { headers: bearer(token) });
  const details = await shown.json();
  assert.equal(details.device, true);
  const decided = await fetch(`${FRONT}/oauth/authorizations/${details.authorization_id}/consent`, {
    method: "POST", headers: { ...bearer(token), "content-type": "application/json" },
    body: JSON.stringify({ approve: true }),
  });
  assert.deepEqual(await decided.json(), { device: true, approved: true });

  // The device waits its interval (shortened here) and gets its tokens.
  sql("UPDATE oauth.authorizations SET last_polled_at = now() - interval '1 minute' WHERE user_code = replace(:'p1', '-', '')", d.user_code);
  const done = await poll();
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.equal(claimsOf(done.body.id_token).sub, "tv-viewer");
  assert.ok(done.body.refresh_token);
});

test("device grant: an expired device code is expired_token", async () => {
  const c = client(DEVICE, "public");
  const d = await (await postForm("/oauth/device_authorization", { client_id: c.client_id })).json();
  sql("UPDATE oauth.authorizations SET expires_at = now() - interval '1 second' WHERE user_code = replace(:'p1', '-', '')", d.user_code);
  const res = await postForm("/oauth/token", { grant_type: DEVICE, device_code: d.device_code, client_id: c.client_id });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, "expired_token");
});

test("user codes tried from one address are rate limited", async () => {
  const token = await session("guesser");
  let limited = null;
  for (let i = 0; i < 30 && !limited; i++) {
    const res = await fetch(`${FRONT}/oauth/authorizations/BCDF-GH${"JKLMNPQRSTVWXZBCDFGHJKLMN"[i]}K`, { headers: bearer(token) });
    if (res.status === 429) limited = res;
    else assert.equal(res.status, 404);
  }
  assert.ok(limited, "expected a 429 after 20 guesses");
  assert.equal((await limited.json()).error, "slow_down");
});

test("protected resource metadata: for resources on this origin, and for userinfo", async () => {
  const res = await fetch(`${FRONT}/.well-known/oauth-protected-resource/api`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.resource, API);
  assert.deepEqual(doc.authorization_servers, [FRONT]);
  const own = await (await fetch(`${FRONT}/.well-known/oauth-protected-resource`)).json();
  assert.equal(own.resource, FRONT);
  assert.equal((await fetch(`${FRONT}/.well-known/oauth-protected-resource/nothing`)).status, 404);
  const md = await (await fetch(`${FRONT}/.well-known/openid-configuration`)).json();
  assert.equal(md.device_authorization_endpoint, `${FRONT}/oauth/device_authorization`);
  assert.equal(md.client_id_metadata_document_supported, true);
  assert.ok(md.grant_types_supported.includes("client_credentials"));
  // A 401 from userinfo says where its metadata is (RFC 9728 §5.1).
  const denied = await fetch(`${FRONT}/oauth/userinfo`, { headers: bearer("garbage") });
  assert.equal(denied.status, 401);
  assert.match(denied.headers.get("www-authenticate"),
    new RegExp(`resource_metadata="${FRONT}/.well-known/oauth-protected-resource"`));
});
