// Read-only routes on a hot standby (scripts/replica-test.sh sets up a primary, a synchronous
// remote_apply standby and oauth-front with --replica-url). Reads land on the standby; a token
// issued a moment ago verifies; a revocation is seen at once; with the primary stopped, every
// read-only route answers from the standby and the writing ones say 503.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";

const FRONT = process.env.FRONT_URL;
const REDIRECT = "http://127.0.0.1:9/callback";
const psql = (args, query) => execFileSync("psql", [...args.split(" "), "-X", "-q", "-t", "-A",
  "-v", "ON_ERROR_STOP=1"], { input: query, encoding: "utf8" }).trim();
const primary = (q) => psql(process.env.PSQL_PRIMARY, q);
const standby = (q) => psql(process.env.PSQL_STANDBY, q);
const client = JSON.parse(primary(`SELECT oauth.create_client('Replica App', ARRAY['${REDIRECT}'])`));
const basic = { authorization: "Basic " + Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64") };
const form = (path, body, headers = {}) => fetch(`${FRONT}${path}`, { method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(body) });

async function tokens(user, front = FRONT, c = client) {
  const basic = { authorization: "Basic " + Buffer.from(`${c.client_id}:${c.client_secret}`).toString("base64") };
  const form = (path, body, headers = {}) => fetch(`${front}${path}`, { method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(body) });
  const session = (await (await fetch(`${front}/demo/session`, { method: "POST",
    headers: { "content-type": "application/json" }, body: JSON.stringify({ username: user }) })).json()).session_token;
  const verifier = randomBytes(32).toString("base64url");
  const q = new URLSearchParams({ response_type: "code", client_id: c.client_id, redirect_uri: REDIRECT,
    scope: "openid email", code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256" });
  const loc = new URL((await fetch(`${front}/oauth/authorize?${q}`, { redirect: "manual" })).headers.get("location"));
  const id = loc.searchParams.get("authorization_id");
  const decided = await (await fetch(`${front}/oauth/authorizations/${id}/consent`, { method: "POST",
    headers: { authorization: `Bearer ${session}`, "content-type": "application/json" },
    body: JSON.stringify({ approve: true }) })).json();
  const code = new URL(decided.redirect_to).searchParams.get("code");
  const res = await form("/oauth/token", { grant_type: "authorization_code", code, code_verifier: verifier,
    redirect_uri: REDIRECT }, basic);
  assert.equal(res.status, 200);
  return res.json();
}

// The standby logs every statement (replica-test.sh): calls it answered are counted there.
const standbyCalls = (fn) => readFileSync(process.env.STANDBY_LOG, "utf8").split("\n")
  .filter((line) => / execute [^:]*:/.test(line) && line.includes(fn)).length;
const userinfo = (t) => fetch(`${FRONT}/oauth/userinfo`, { headers: { authorization: `Bearer ${t}` } });
const introspect = (t) => form("/oauth/introspect", { token: t }, basic).then((r) => r.json());

test("the standby is a streaming, synchronous replica", async () => {
  assert.equal(standby("SELECT pg_is_in_recovery()"), "t");
  assert.equal(primary("SELECT sync_state FROM pg_stat_replication"), "sync");
});

test("reads are answered by the standby", async () => {
  // The standby is used once the front has a sample of the primary's position older than the
  // lag bound (1 s) and the standby has replayed it: wait for its first answer.
  const first = standbyCalls("oauth.jwks()");
  for (let i = 0; i < 100 && standbyCalls("oauth.jwks()") === first; i++) {
    await fetch(`${FRONT}/.well-known/jwks.json`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const before = [standbyCalls("oauth.jwks()"), standbyCalls("oauth.metadata()")];
  for (let i = 0; i < 20; i++) {
    for (const path of ["/.well-known/jwks.json", "/.well-known/openid-configuration"]) {
      assert.equal((await fetch(`${FRONT}${path}`)).status, 200);
    }
  }
  assert.equal(standbyCalls("oauth.jwks()") - before[0], 20);
  assert.equal(standbyCalls("oauth.metadata()") - before[1], 20);
});

test("a token issued a moment ago verifies at once (read-your-writes), and a revocation is seen at once", async () => {
  for (let i = 0; i < 10; i++) {
    const t = await tokens(`reader-${i}`);
    assert.equal((await userinfo(t.access_token)).status, 200);
    assert.equal((await introspect(t.access_token)).active, true);
    const revoked = await form("/oauth/revoke", { token: t.refresh_token }, basic);
    assert.equal(revoked.status, 200);
    assert.equal((await introspect(t.access_token)).active, false, "revoked, yet active");
    assert.equal((await userinfo(t.access_token)).status, 401);
  }
});

test("a replica that has not replayed a token yet: the primary answers for it", async () => {
  const lagging = process.env.LAGGING_FRONT_URL;
  const c = JSON.parse(psql(process.env.PSQL_ASYNC, `SELECT oauth.create_client('Lag App', ARRAY['${REDIRECT}'])`));
  const asyncStandby = process.env.PSQL_STANDBY.replace("-d app", "-d app_async");
  standby("SELECT pg_wal_replay_pause()");
  try {
    const t = await tokens("lagged", lagging, c);
    // The standby has not seen this token's grant: it would say 401 / inactive.
    assert.equal(psql(asyncStandby, "SELECT count(*) FROM oauth.grants WHERE user_id = 'lagged'"), "0");
    const info = await fetch(`${lagging}/oauth/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } });
    assert.equal(info.status, 200, "a token issued a moment ago must verify");
    const basicC = { authorization: "Basic " + Buffer.from(`${c.client_id}:${c.client_secret}`).toString("base64") };
    const intro = await fetch(`${lagging}/oauth/introspect`, { method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...basicC }, body: new URLSearchParams({ token: t.access_token }) });
    assert.equal((await intro.json()).active, true);
  } finally {
    standby("SELECT pg_wal_replay_resume()");
  }
});

test("a standby that stops receiving falls out of the lag bound: a revocation is not hidden", async () => {
  const strict = process.env.STRICT_FRONT_URL;
  const c = JSON.parse(psql(process.env.PSQL_ASYNC, `SELECT oauth.create_client('Strict App', ARRAY['${REDIRECT}'])`));
  const basicC = { authorization: "Basic " + Buffer.from(`${c.client_id}:${c.client_secret}`).toString("base64") };
  const post = (path, body) => fetch(`${strict}${path}`, { method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...basicC }, body: new URLSearchParams(body) });
  const t = await tokens("partitioned", strict, c);
  await new Promise((r) => setTimeout(r, 1000)); // replicated, and the replica usable again
  // The primary's WAL sender stops (as in a partition): the standby still calls itself
  // caught up with what it received, but it receives nothing more.
  const sender = primary("SELECT pid FROM pg_stat_replication");
  execSync(`kill -STOP ${sender}`);
  try {
    assert.equal((await post("/oauth/revoke", { token: t.refresh_token })).status, 200);
    const asyncStandby = process.env.PSQL_STANDBY.replace("-d app", "-d app_async");
    let active = true;
    for (let i = 0; i < 100 && active; i++) {
      active = (await (await post("/oauth/introspect", { token: t.access_token })).json()).active;
      if (active) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(active, false, "the revoked token was still active after 10 s");
    // The standby itself still has the token active: the front stopped asking it.
    assert.equal(psql(asyncStandby, `SELECT oauth.introspect(jsonb_build_object('token', '${t.access_token}'), '${basicC.authorization}')->>'active'`), "true");
  } finally {
    execSync(`kill -CONT ${sender}`);
  }
});

test("with the primary stopped, every read-only route answers from the standby", async () => {
  const t = await tokens("survivor");
  execSync(process.env.STOP_PRIMARY);
  for (const base of ["", "/auth/v1"]) {
    for (const path of ["/.well-known/jwks.json", "/.well-known/openid-configuration",
      "/.well-known/oauth-authorization-server"]) {
      const res = await fetch(`${FRONT}${base}${path}`);
      assert.equal(res.status, 200, `${base}${path}`);
    }
    const info = await fetch(`${FRONT}${base}/oauth/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } });
    assert.equal(info.status, 200, `${base}/oauth/userinfo`);
    assert.equal((await info.json()).sub, "survivor");
    const intro = await form(`${base}/oauth/introspect`, { token: t.access_token }, basic);
    assert.equal(intro.status, 200);
    assert.equal((await intro.json()).active, true);
    const bad = await form(`${base}/oauth/introspect`, { token: t.access_token }, { authorization: "Basic " + Buffer.from("x:y").toString("base64") });
    assert.equal(bad.status, 401, "a failed client authentication is still refused, not a 5xx");
  }
  assert.equal((await fetch(`${FRONT}/.well-known/oauth-protected-resource`)).status, 200);
  // What writes cannot be answered by a standby: 503, retry later.
  const refresh = await form("/oauth/token", { grant_type: "refresh_token", refresh_token: t.refresh_token }, basic);
  assert.equal(refresh.status, 503);
  assert.ok(refresh.headers.get("retry-after"));
});
