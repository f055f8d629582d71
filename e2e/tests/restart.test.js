// The front survives a Postgres restart: pooled connections to the old server are dropped
// and replaced, with at most a few 503s (temporarily_unavailable) while Postgres comes back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import { FRONT, basic, createClient, postForm } from "./helpers.js";

const restart = process.env.PG_RESTART_CMD;

test("Postgres restart mid-run: the front recovers by itself", { skip: !restart && "PG_RESTART_CMD not set" }, async () => {
  const c = createClient();
  const auth = basic(c.client_id, c.client_secret);
  // Fill the pool with live connections.
  await Promise.all(Array.from({ length: 8 }, () => fetch(`${FRONT}/.well-known/jwks.json`)));
  execSync(restart, { stdio: "inherit" });
  const statuses = [];
  for (let i = 0; i < 50; i++) {
    const res = await postForm("/oauth/token", { grant_type: "refresh_token", refresh_token: "unknown" }, auth);
    statuses.push(res.status);
    if (res.status === 400) break;
    assert.equal(res.status, 503, "only 503 while recovering, never a 500");
    assert.equal((await res.json()).error, "temporarily_unavailable");
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(statuses.at(-1), 400, `recovered: ${statuses}`);
  // And every pooled connection is healthy again.
  const all = await Promise.all(Array.from({ length: 16 }, () => fetch(`${FRONT}/.well-known/jwks.json`)));
  assert.deepEqual([...new Set(all.map((r) => r.status))], [200]);
});
