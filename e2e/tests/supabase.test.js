// The real @supabase/supabase-js from npm, pointed at oauth-front (whose /auth/v1 is the
// Supabase Auth surface): a consent page's whole life through auth.oauth.*, the admin API
// through auth.admin.oauth.*, and what each refuses. See docs/supabase.md.
import { test, before } from "node:test";
import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { createClient as supabaseClient } from "@supabase/supabase-js";
import {
  FRONT, REDIRECT, basic, bearer, consentThrough, createClient, pkce, postForm, session, sql,
} from "./helpers.js";

const AUTH = `${FRONT}/auth/v1`;
// Node 20 has no WebSocket; supabase-js needs a constructor for realtime, which is never used.
const OPTIONS = {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: class {} },
};
const supabase = (key) => supabaseClient(FRONT, key, OPTIONS);

let adminKey;
const adminKeyName = `supabase-e2e-${Date.now()}`;
before(() => {
  adminKey = sql(`SELECT oauth.create_admin_key('${adminKeyName}')`);
});

/** supabase-js as a signed-in user: a session from the demo login, handed to setSession. */
async function signedIn(username) {
  const client = supabase("public-anon-key");
  const { data, error } = await client.auth.setSession({
    access_token: await session(username), refresh_token: "unused",
  });
  assert.equal(error, null);
  assert.equal(data.user.id, username);
  return client;
}

/** A pending authorization request of `clientId`; its authorization_id. */
async function newRequest(clientId, scope = "openid email", extra = {}) {
  const p = pkce();
  const q = new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT,
    scope, state: "st", code_challenge: p.challenge, code_challenge_method: "S256", ...extra });
  const res = await fetch(`${AUTH}/oauth/authorize?${q}`, { redirect: "manual" });
  assert.equal(res.status, 302, await res.text());
  const id = new URL(res.headers.get("location")).searchParams.get("authorization_id");
  assert.ok(id);
  return { id, verifier: p.verifier };
}

async function redeem(client, code, verifier) {
  return postForm("/auth/v1/oauth/token", { grant_type: "authorization_code", code,
    code_verifier: verifier, redirect_uri: REDIRECT }, basic(client.client_id, client.client_secret));
}

test("a consent page's life: details, approve, deny, auto-approval, grants, revocation", async () => {
  const client = createClient({ name: "Supabase Page App" });
  const user = await signedIn("sb-alice");

  const first = await newRequest(client.client_id);
  const shown = await user.auth.oauth.getAuthorizationDetails(first.id);
  assert.equal(shown.error, null);
  assert.equal(shown.data.authorization_id, first.id);
  assert.equal(shown.data.client.id, client.client_id);
  assert.equal(shown.data.client.name, "Supabase Page App");
  assert.equal(shown.data.scope, "openid email");
  assert.deepEqual(shown.data.user, { id: "sb-alice", email: "sb-alice@example.com" });
  assert.equal(shown.data.redirect_uri, REDIRECT);

  const approved = await user.auth.oauth.approveAuthorization(first.id);
  assert.equal(approved.error, null);
  const back = new URL(approved.data.redirect_url);
  assert.equal(back.searchParams.get("state"), "st");
  assert.equal(back.searchParams.get("iss"), FRONT);
  const tokens = await redeem(client, back.searchParams.get("code"), first.verifier);
  assert.equal(tokens.status, 200);
  const { refresh_token, access_token } = await tokens.json();

  // The same scopes again: answered from the earlier consent, without asking.
  const again = await newRequest(client.client_id);
  const auto = await user.auth.oauth.getAuthorizationDetails(again.id);
  assert.equal(auto.error, null);
  assert.deepEqual(Object.keys(auto.data), ["redirect_url"]);
  assert.ok(new URL(auto.data.redirect_url).searchParams.get("code"));

  // More than was consented: asked, and denied.
  const more = await newRequest(client.client_id, "openid email profile");
  const asked = await user.auth.oauth.getAuthorizationDetails(more.id);
  assert.equal(asked.data.scope, "openid email profile");
  const denied = await user.auth.oauth.denyAuthorization(more.id);
  assert.equal(denied.error, null);
  assert.equal(new URL(denied.data.redirect_url).searchParams.get("error"), "access_denied");
  // A decided request is gone for the page.
  const twice = await user.auth.oauth.approveAuthorization(more.id);
  assert.equal(twice.error.status, 404);
  assert.equal(twice.error.code, "oauth_authorization_not_found");

  const listed = await user.auth.oauth.listGrants();
  assert.equal(listed.error, null);
  const grant = listed.data.find((g) => g.client.id === client.client_id);
  assert.deepEqual(grant.scopes, ["email", "openid"]);
  assert.equal(grant.client.name, "Supabase Page App");
  assert.ok(!Number.isNaN(Date.parse(grant.granted_at)));

  const revoked = await user.auth.oauth.revokeGrant({ clientId: client.client_id });
  assert.equal(revoked.error, null);
  const after = await user.auth.oauth.listGrants();
  assert.equal(after.data.find((g) => g.client.id === client.client_id), undefined);
  // Revocation reaches the tokens already issued.
  const refreshed = await postForm("/auth/v1/oauth/token", { grant_type: "refresh_token", refresh_token },
    basic(client.client_id, client.client_secret));
  assert.equal(refreshed.status, 400);
  assert.equal((await refreshed.json()).error, "invalid_grant");
  const info = await fetch(`${AUTH}/oauth/userinfo`, { headers: bearer(access_token) });
  assert.equal(info.status, 401);
  const none = await user.auth.oauth.revokeGrant({ clientId: client.client_id });
  assert.equal(none.error.code, "oauth_consent_not_found");
  assert.equal(none.error.status, 404);
});

test("another user's request, an unknown one and a malformed decision are refused", async () => {
  const client = createClient({ name: "Two Users App" });
  const alice = await signedIn("sb-owner");
  const mallory = await signedIn("sb-other");
  const req = await newRequest(client.client_id);
  assert.equal((await alice.auth.oauth.getAuthorizationDetails(req.id)).error, null);
  const stolen = await mallory.auth.oauth.approveAuthorization(req.id);
  assert.equal(stolen.error.code, "oauth_authorization_not_found");
  const unknown = await alice.auth.oauth.getAuthorizationDetails("A".repeat(43));
  assert.equal(unknown.error.code, "oauth_authorization_not_found");
  const token = await session("sb-owner");
  const res = await fetch(`${AUTH}/oauth/authorizations/${req.id}/consent`, {
    method: "POST", headers: { ...bearer(token), "content-type": "application/json",
      "x-supabase-api-version": "2024-01-01" },
    body: JSON.stringify({ approve: true }),
  });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(),
    { code: "validation_failed", message: "action must be 'approve' or 'deny'" });
  // Still pending, and still the owner's to decide.
  assert.equal((await alice.auth.oauth.approveAuthorization(req.id)).error, null);
});

test("tokens of other kinds are never a user's session on the Supabase routes", async () => {
  const client = createClient({ name: "Token Kinds App" });
  const p = pkce();
  const url = `${FRONT}/oauth/authorize?` + new URLSearchParams({ response_type: "code",
    client_id: client.client_id, redirect_uri: REDIRECT, scope: "openid email", state: "s",
    code_challenge: p.challenge, code_challenge_method: "S256" });
  const back = await consentThrough(url, { user: "sb-victim" });
  const tokens = await (await redeem(client, back.searchParams.get("code"), p.verifier)).json();
  const req = await newRequest(client.client_id, "openid email profile");
  for (const [kind, token] of [["access token", tokens.access_token], ["ID token", tokens.id_token],
    ["refresh token", tokens.refresh_token]]) {
    const sb = supabase("public-anon-key");
    const set = await sb.auth.setSession({ access_token: token, refresh_token: "unused" });
    assert.ok(set.error, `${kind} accepted by setSession (GET /user)`);
    for (const [method, path, body] of [
      ["GET", `/oauth/authorizations/${req.id}`],
      ["POST", `/oauth/authorizations/${req.id}/consent`, { action: "approve" }],
      ["GET", "/user/oauth/grants"],
      ["DELETE", `/user/oauth/grants?client_id=${client.client_id}`],
      ["GET", "/user"],
    ]) {
      const res = await fetch(`${AUTH}${path}`, { method, body: body && JSON.stringify(body),
        headers: { ...bearer(token), "content-type": "application/json", "x-supabase-api-version": "2024-01-01" } });
      assert.equal(res.status, 403, `${kind} at ${method} ${path}`);
      assert.equal((await res.json()).code, "bad_jwt", `${kind} at ${method} ${path}`);
    }
  }
  // The victim's grant is untouched.
  const victim = await signedIn("sb-victim");
  assert.ok((await victim.auth.oauth.listGrants()).data.some((g) => g.client.id === client.client_id));
});

test("admin: create, list with pagination, get, update, regenerate the secret, delete", async () => {
  const admin = supabase(adminKey).auth.admin.oauth;
  const created = await admin.createClient({ client_name: "Admin Made", client_uri: "https://made.example",
    redirect_uris: [REDIRECT], scope: "openid email" });
  assert.equal(created.error, null);
  const c = created.data;
  assert.equal(c.client_name, "Admin Made");
  assert.equal(c.client_type, "confidential");
  assert.equal(c.registration_type, "manual");
  assert.equal(c.token_endpoint_auth_method, "client_secret_basic");
  assert.deepEqual(c.response_types, ["code"]);
  assert.equal(c.scope, "openid email");
  assert.ok(c.client_secret);
  const second = await admin.createClient({ client_name: "Admin Made Public", redirect_uris: [REDIRECT],
    token_endpoint_auth_method: "none" });
  assert.equal(second.data.client_type, "public");
  assert.equal(second.data.client_secret, undefined);

  const total = Number(sql("SELECT count(*) FROM oauth.clients"));
  const page1 = await admin.listClients({ page: 1, perPage: 1 });
  assert.equal(page1.error, null);
  assert.equal(page1.data.clients.length, 1);
  assert.equal(page1.data.total, total);
  assert.equal(page1.data.nextPage, 2);
  // supabase-js reads one digit of the page number in Link (its quirk, as against Supabase).
  assert.equal(page1.data.lastPage, Number(String(total)[0]));
  const all = await admin.listClients({ page: 1, perPage: 1000 });
  assert.ok(all.data.clients.some((x) => x.client_id === c.client_id));
  assert.ok(all.data.clients.every((x) => x.client_secret === undefined));

  const got = await admin.getClient(c.client_id);
  assert.equal(got.data.client_uri, "https://made.example");
  assert.equal(got.data.client_secret, undefined);

  const updated = await admin.updateClient(c.client_id, { client_name: "Admin Renamed" });
  assert.equal(updated.error, null);
  assert.equal(updated.data.client_name, "Admin Renamed");
  const empty = await admin.updateClient(c.client_id, {});
  assert.equal(empty.error.code, "validation_failed");
  const bad = await admin.updateClient(c.client_id, { redirect_uris: ["not a url"] });
  assert.equal(bad.error.code, "validation_failed");
  assert.equal(bad.error.status, 400);

  // scope: an empty one would lift the client's limit; refused. null lifts it on purpose.
  const emptyScope = await fetch(`${AUTH}/admin/oauth/clients/${c.client_id}`, { method: "PUT",
    headers: { ...bearer(adminKey), "content-type": "application/json", "x-supabase-api-version": "2024-01-01" },
    body: JSON.stringify({ scope: " " }) });
  assert.equal(emptyScope.status, 400);
  const beforeRotation = (await admin.getClient(c.client_id)).data;
  assert.equal(beforeRotation.scope, "openid email");

  const rotated = await admin.regenerateClientSecret(c.client_id);
  assert.equal(rotated.error, null);
  // The answer is the client after the rotation (its own transaction's timestamp).
  assert.notEqual(rotated.data.updated_at, beforeRotation.updated_at);
  assert.equal(rotated.data.client_name, "Admin Renamed");
  assert.ok(rotated.data.client_secret && rotated.data.client_secret !== c.client_secret);
  const introspect = (secret) => postForm("/auth/v1/oauth/introspect", { token: "x" }, basic(c.client_id, secret));
  assert.equal((await introspect(c.client_secret)).status, 401);
  assert.equal((await introspect(rotated.data.client_secret)).status, 200);
  const publicRotate = await admin.regenerateClientSecret(second.data.client_id);
  assert.equal(publicRotate.error.code, "validation_failed");

  assert.deepEqual(await admin.deleteClient(c.client_id), { data: null, error: null });
  const gone = await admin.getClient(c.client_id);
  assert.equal(gone.error.code, "oauth_client_not_found");
  assert.equal(gone.error.status, 404);
  assert.equal((await introspect(rotated.data.client_secret)).status, 401);
  const audited = sql(`SELECT string_agg(details->>'by', ',' ORDER BY id) FROM oauth.audit_log
    WHERE client_id = '${c.client_id}'`);
  assert.match(audited, /^admin key supabase-e2e-/);
});

test("the admin API takes an administrator key, never a user's or a client's credential", async () => {
  const client = createClient({ name: "Admin Attack App" });
  const p = pkce();
  const back = await consentThrough(`${FRONT}/oauth/authorize?` + new URLSearchParams({
    response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT, scope: "openid",
    state: "s", code_challenge: p.challenge, code_challenge_method: "S256" }), { user: "sb-admin-attacker" });
  const tokens = await (await redeem(client, back.searchParams.get("code"), p.verifier)).json();
  const userSession = await session("sb-admin-attacker");
  const revokedKey = sql(`SELECT oauth.create_admin_key('supabase-e2e-revoked-${Date.now()}')`);
  sql(`SELECT oauth.revoke_admin_key(name) FROM oauth.admin_keys WHERE name LIKE 'supabase-e2e-revoked-%'`);
  for (const [who, key, code] of [
    ["a user's session", userSession, "not_admin"],
    // Genuine tokens of another kind: refused as not an administrator's session (42501).
    ["a client's access token", tokens.access_token, "not_admin"],
    ["an ID token", tokens.id_token, "not_admin"],
    ["a refresh token", tokens.refresh_token, "bad_jwt"],
    ["the anon key", "public-anon-key", "bad_jwt"],
    ["a revoked administrator key", revokedKey, "bad_jwt"],
    ["a made-up administrator key", "oas_admin_" + "A".repeat(43), "bad_jwt"],
    ["the key's prefix alone", "oas_admin_", "bad_jwt"],
  ]) {
    const res = await supabase(key).auth.admin.oauth.listClients();
    assert.equal(res.error?.status, 403, who);
    assert.equal(res.error.code, code, who);
    const made = await supabase(key).auth.admin.oauth.createClient({ client_name: "x", redirect_uris: [REDIRECT] });
    assert.equal(made.error?.code, code, who);
  }
  // A user's bearer is never swapped for an administrator key in apikey.
  const res = await fetch(`${AUTH}/admin/oauth/clients`, {
    headers: { ...bearer(userSession), apikey: adminKey, "x-supabase-api-version": "2024-01-01" } });
  assert.equal(res.status, 403);
  assert.equal((await res.json()).code, "not_admin");
  // No credential at all; and the key alone in apikey (curl style) is enough.
  const anonymous = await fetch(`${AUTH}/admin/oauth/clients`, { headers: { "x-supabase-api-version": "2024-01-01" } });
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).code, "no_authorization");
  assert.equal((await fetch(`${AUTH}/admin/oauth/clients`, { headers: { apikey: adminKey } })).status, 200);
});

test("admin users: a ban forever ends the user's session and refresh, none lifts it, deleteUser deletes", async () => {
  const client = createClient({ name: "Banned User App" });
  // supabase-js sends only UUIDs here (GoTrue's user ids), longer than a demo login's names:
  // the session comes from the login an app would have, oauth.issue_session_token.
  const user = randomUUID();
  const userSession = sql(`SELECT oauth.issue_session_token('${user}')`);
  const p = pkce();
  const back = await consentThrough(`${FRONT}/oauth/authorize?` + new URLSearchParams({
    response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT, scope: "openid",
    state: "s", code_challenge: p.challenge, code_challenge_method: "S256" }), { token: userSession });
  let { refresh_token } = await (await redeem(client, back.searchParams.get("code"), p.verifier)).json();
  const rotate = () => postForm("/auth/v1/oauth/token", { grant_type: "refresh_token", refresh_token },
    basic(client.client_id, client.client_secret));
  const admin = supabase(adminKey).auth.admin;

  // The user cannot ban anyone, themself included; other attributes and timed bans are refused.
  const self = await supabase(userSession).auth.admin.updateUserById(user, { ban_duration: "none" });
  assert.equal(self.error?.code, "not_admin");
  const email = await admin.updateUserById(user, { ban_duration: "876000h", email: "x@example.com" });
  assert.equal(email.error?.status, 400);
  assert.match(email.error.message, /only ban_duration is supported here/);
  const timed = await admin.updateUserById(user, { ban_duration: "24h" });
  assert.equal(timed.error?.status, 400);
  assert.equal(timed.error.code, "validation_failed");
  assert.match(timed.error.message, /timed bans are not supported.*"none".*"876000h"/);
  const ok = await rotate();
  assert.equal(ok.status, 200);
  ({ refresh_token } = await ok.json());

  const banned = await admin.updateUserById(user, { ban_duration: "876000h" });
  assert.equal(banned.error, null);
  assert.equal(banned.data.user.id, user);
  assert.ok(Date.parse(banned.data.user.banned_until) > Date.now() + 50 * 365 * 86400e3);
  const got = await admin.getUserById(user);
  assert.equal(got.data.user.banned_until, banned.data.user.banned_until);
  const refused = await rotate();
  assert.equal(refused.status, 400);
  assert.equal((await refused.json()).error, "invalid_grant");
  const me = await fetch(`${AUTH}/user`, { headers: { ...bearer(userSession), "x-supabase-api-version": "2024-01-01" } });
  assert.equal(me.status, 403);
  assert.equal((await me.json()).code, "bad_jwt");

  const lifted = await admin.updateUserById(user, { ban_duration: "none" });
  assert.equal(lifted.error, null);
  assert.equal(lifted.data.user.banned_until, null);
  const again = await rotate();
  assert.equal(again.status, 200);
  ({ refresh_token } = await again.json());
  // The session the ban ended stays ended.
  assert.equal((await fetch(`${AUTH}/user`, { headers: bearer(userSession) })).status, 403);

  const soft = await admin.deleteUser(user, true);
  assert.equal(soft.error?.status, 400);
  assert.match(soft.error.message, /soft deletion is not supported/);
  const deleted = await admin.deleteUser(user);
  assert.equal(deleted.error, null);
  assert.equal(deleted.data.user.id, user);
  assert.equal((await rotate()).status, 400);
  assert.equal(sql(`SELECT count(*) FROM oauth.consents WHERE user_id = '${user}'`), "0");
  const by = sql(`SELECT string_agg(event || ':' || (details->>'by'), ',' ORDER BY at) FROM oauth.audit_log
    WHERE user_id = '${user}' AND event LIKE 'admin_user_%'`);
  assert.equal(by, ["banned", "unbanned", "deleted"].map((e) => `admin_user_${e}:admin key ${adminKeyName}`).join(","));
});

test("what the router itself refuses is a GoTrue error too, not plain text", async () => {
  for (const [method, path] of [["GET", "/admin/oauth/clients?page=1&page=2"],
    ["DELETE", "/user/oauth/grants?client_id=a&client_id=b"], ["GET", "/admin/oauth/clients/%FF"],
    ["PATCH", "/admin/oauth/clients"]]) {
    const res = await fetch(`${AUTH}${path}`, { method,
      headers: { ...bearer(adminKey), "x-supabase-api-version": "2024-01-01" } });
    assert.ok(res.status >= 400 && res.status < 500, `${method} ${path}: ${res.status}`);
    const body = await res.json();
    assert.equal(typeof body.code, "string", `${method} ${path}`);
    assert.equal(typeof body.message, "string", `${method} ${path}`);
    assert.equal(res.headers.get("x-supabase-api-version"), "2024-01-01");
  }
  const big = await supabase(adminKey).auth.admin.oauth.createClient({ client_name: "x".repeat(70000), redirect_uris: [REDIRECT] });
  assert.equal(big.error.status, 413);
  assert.equal(big.error.code, "request_too_large");
});

test("errors come in both GoTrue shapes, by the request's API version", async () => {
  const path = `${AUTH}/admin/oauth/clients/no-such-client`;
  const modern = await fetch(path, { headers: { ...bearer(adminKey), "x-supabase-api-version": "2024-01-01" } });
  assert.equal(modern.status, 404);
  assert.equal(modern.headers.get("x-supabase-api-version"), "2024-01-01");
  assert.equal(modern.headers.get("x-sb-error-code"), "oauth_client_not_found");
  assert.deepEqual(Object.keys(await modern.json()), ["code", "message"]);
  const legacy = await fetch(path, { headers: bearer(adminKey) });
  assert.equal(legacy.headers.get("x-supabase-api-version"), null);
  const body = await legacy.json();
  assert.equal(body.code, 404);
  assert.equal(body.error_code, "oauth_client_not_found");
  assert.equal(typeof body.msg, "string");
});

test("sessions: getUser, signOut ends ours, and /token explains it does not refresh them", async () => {
  const user = await signedIn("sb-leaver");
  const token = (await user.auth.getSession()).data.session.access_token;
  const me = await user.auth.getUser();
  assert.equal(me.data.user.email, "sb-leaver@example.com");
  assert.equal(me.data.user.role, "authenticated");
  assert.equal((await user.auth.signOut()).error, null);
  const after = await fetch(`${AUTH}/user`, { headers: bearer(token) });
  assert.equal(after.status, 403);
  const refresh = await user.auth.refreshSession({ refresh_token: "unused" });
  assert.equal(refresh.error.code, "refresh_token_not_found");
});

test("one base URL: discovery, JWKS, registration, token and userinfo answer under /auth/v1", async () => {
  const meta = await (await fetch(`${AUTH}/.well-known/openid-configuration`)).json();
  assert.equal(meta.issuer, FRONT);
  assert.equal((await fetch(`${AUTH}/.well-known/oauth-authorization-server`)).status, 200);
  assert.ok((await (await fetch(`${AUTH}/.well-known/jwks.json`)).json()).keys.length > 0);
  const reg = await fetch(`${AUTH}/oauth/clients/register`, { method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "Registered via Supabase path", redirect_uris: [REDIRECT],
      token_endpoint_auth_method: "none" }) });
  assert.equal(reg.status, 201);
  const registered = await reg.json();
  const shown = await supabase(adminKey).auth.admin.oauth.getClient(registered.client_id);
  assert.equal(shown.data.registration_type, "dynamic");
  // CORS: a browser page may send supabase-js's headers and read the pagination ones.
  const pre = await fetch(`${AUTH}/admin/oauth/clients`, { method: "OPTIONS", headers: {
    origin: "https://console.example", "access-control-request-method": "GET",
    "access-control-request-headers": "apikey,authorization,x-client-info,x-supabase-api-version" } });
  assert.equal(pre.status, 200);
  assert.match(pre.headers.get("access-control-allow-headers"), /apikey/);
  const listed = await fetch(`${AUTH}/admin/oauth/clients`, { headers: { ...bearer(adminKey), origin: "https://console.example" } });
  assert.match(listed.headers.get("access-control-expose-headers"), /link/i);
  assert.match(listed.headers.get("access-control-expose-headers"), /x-total-count/i);
});
