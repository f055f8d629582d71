// psql 18 signs in to the database with this server's tokens, as a user would: libpq's own
// OAuth flow (oauth_issuer, oauth_client_id; the device grant, RFC 8628) against the front on
// loopback (PGOAUTHDEBUG=UNSAFE allows plain http there), the code it prints approved through
// the consent API by the signed-in user, then the session running as the role the ident map
// gives, with oauth.uid() that user. Run by scripts/db-login-test.sh on its PostgreSQL 18 stack.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { FRONT, bearer, session, sql } from "../tests/helpers.js";

const PSQL18 = process.env.PSQL18;
const PORT = process.env.DB_LOGIN_PGPORT;
const CLIENT = process.env.DB_LOGIN_CLIENT;

function psql(query, { user = "app_user" } = {}) {
  const conninfo = `host=127.0.0.1 port=${PORT} dbname=app user=${user} oauth_issuer=${FRONT} oauth_client_id=${CLIENT}`;
  const child = spawn(PSQL18, [conninfo, "-X", "-A", "-t", "-c", query], {
    env: { ...process.env, PGOAUTHDEBUG: "UNSAFE", PGPASSWORD: "" },
  });
  let stdout = "", stderr = "";
  child.stdout.on("data", (d) => { stdout += d; });
  const code = new Promise((resolve) => child.on("close", resolve));
  const userCode = new Promise((resolve, reject) => {
    child.stderr.on("data", (d) => {
      stderr += d;
      const m = stderr.match(/enter the code: ([A-Z]{4}-[A-Z]{4})/);
      if (m) resolve(m[1]);
    });
    child.on("close", () => reject(new Error(`psql ended before printing a code:\n${stderr.slice(-2000)}`)));
  });
  return { child, userCode, done: code.then((c) => ({ code: c, stdout, stderr })) };
}

async function approve(userCode, username, approveIt = true) {
  const token = await session(username);
  const shown = await fetch(`${FRONT}/oauth/authorizations/${encodeURIComponent(userCode)}`, { headers: bearer(token) });
  assert.equal(shown.status, 200);
  const details = await shown.json();
  assert.equal(details.device, true);
  assert.deepEqual(details.resources, ["postgres://127.0.0.1/app"]);
  assert.deepEqual(details.scopes.map((s) => s.name).sort(), ["db:login", "openid"]);
  const decided = await fetch(`${FRONT}/oauth/authorizations/${details.authorization_id}/consent`, {
    method: "POST", headers: { ...bearer(token), "content-type": "application/json" },
    body: JSON.stringify({ approve: approveIt }),
  });
  assert.deepEqual(await decided.json(), { device: true, approved: approveIt });
  return details.user.id;
}

test("psql 18 signs in through the device flow as the user, mapped to app_user", { timeout: 90_000 }, async () => {
  const run = psql("SELECT current_user, oauth.uid(), oauth.client_id(), system_user");
  const userCode = await run.userCode;
  const sub = await approve(userCode, "psql-alice");
  const { code, stdout, stderr } = await run.done;
  assert.equal(code, 0, stderr.slice(-2000));
  assert.equal(stdout.trim(), `app_user|${sub}|${CLIENT}|oauth:${sub}`);
});

test("psql 18: a user who denies gets no session", { timeout: 90_000 }, async () => {
  const run = psql("SELECT 1");
  await approve(await run.userCode, "psql-bob", false);
  const { code, stdout, stderr } = await run.done;
  assert.notEqual(code, 0);
  assert.equal(stdout, "");
  assert.match(stderr, /access_denied|denied/i);
  // Nothing was issued to the client for bob.
  assert.equal(sql("SELECT count(*) FROM oauth.grants WHERE user_id = 'psql-bob'"), "0");
});
