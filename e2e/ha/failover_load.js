// Load for the failover test (scripts/failover-test.sh): W workers, each running complete
// flows of new users (demo sign-in, authorize, consent, code exchange) followed by a chain of
// refreshes, for the given seconds, while the script kills the primary. Every request that
// fails because the database is gone (503, a refused or dropped connection) is retried as a
// client would. At the end every worker refreshes the family it holds once more (it must
// work: the client recovered), and the outcome is written as JSON for the script's checks:
// the hash of every refresh token answered 200, each code's successful redemptions, the
// errors, and the longest time without any successful answer.
//   node ha/failover_load.js <front> <workers> <seconds> <out.json>
// Environment: CLIENT_ID, CLIENT_SECRET, REDIRECT.
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";

const [front, workers = "4", seconds = "20", out = "failover.json"] = process.argv.slice(2);
const { CLIENT_ID, CLIENT_SECRET, REDIRECT } = process.env;
const basic = "Basic " + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64");
const sha = (s) => createHash("sha256").update(s).digest("hex");
const refreshHashes = [];
const codeSuccesses = {};
const errors = {};
const successes = []; // times (ms) of successful answers
let retries = 0, codeReplays = 0, flows = 0, refreshes = 0;
const count = (k) => { errors[k] = (errors[k] ?? 0) + 1; };

/** A request retried while the database is away: 503 or no answer at all. */
async function call(url, init, label) {
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(10000) });
    } catch (e) {
      count(`${label}: no answer`);
      res = null;
    }
    if (res && res.status !== 503) {
      const body = res.status === 302 ? null : await res.json();
      if (res.status < 400) successes.push(Date.now());
      return { res, body };
    }
    if (res) count(`${label}: 503`);
    if (attempt > 600) throw new Error(`${label}: the service did not come back`);
    retries++;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const form = (body) => ({ method: "POST", body: new URLSearchParams(body),
  headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic } });

async function newFamily(worker, n) {
  for (;;) {
    const { body: s } = await call(`${front}/demo/session`, { method: "POST",
      headers: { "content-type": "application/json" }, body: JSON.stringify({ username: `fo-${worker}-${n}` }) }, "sign-in");
    const verifier = randomBytes(32).toString("base64url");
    const q = new URLSearchParams({ response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT,
      scope: "openid", code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256" });
    const { res: a } = await call(`${front}/oauth/authorize?${q}`, {}, "authorize");
    const id = new URL(a.headers.get("location")).searchParams.get("authorization_id");
    const { res: cr, body: c } = await call(`${front}/oauth/authorizations/${id}/consent`, { method: "POST",
      headers: { authorization: `Bearer ${s.session_token}`, "content-type": "application/json" },
      body: JSON.stringify({ approve: true }) }, "consent");
    if (cr.status !== 200) { count(`consent: ${cr.status} ${c.error}`); continue; } // its answer was lost: start over
    const code = new URL(c.redirect_to).searchParams.get("code");
    const { res: tr, body: t } = await call(`${front}/oauth/token`, form({ grant_type: "authorization_code",
      code, code_verifier: verifier, redirect_uri: REDIRECT }), "code exchange");
    if (tr.status !== 200) {
      // A redemption whose answer was lost, retried: the code is spent (and what it issued
      // revoked). The client starts the flow again.
      if (t.error === "invalid_grant") codeReplays++;
      count(`code exchange: ${tr.status} ${t.error}`);
      continue;
    }
    codeSuccesses[code] = (codeSuccesses[code] ?? 0) + 1;
    refreshHashes.push(sha(t.refresh_token));
    flows++;
    return t.refresh_token;
  }
}

async function refresh(token) {
  const { res, body } = await call(`${front}/oauth/token`, form({ grant_type: "refresh_token", refresh_token: token }), "refresh");
  if (res.status !== 200) { count(`refresh: ${res.status} ${body.error}: ${body.error_description}`); return null; }
  refreshHashes.push(sha(body.refresh_token));
  refreshes++;
  return body.refresh_token;
}

const end = Date.now() + Number(seconds) * 1000;
const start = Date.now();
const held = await Promise.all(Array.from({ length: Number(workers) }, async (_, w) => {
  let n = 0, token = await newFamily(w, n++);
  while (Date.now() < end) {
    for (let i = 0; i < 5 && Date.now() < end && token; i++) token = await refresh(token);
    if (Date.now() < end || !token) token = await newFamily(w, n++);
  }
  return token;
}));
// The clients recovered: each family held at the end refreshes.
let recovered = 0;
for (const t of held) if (await refresh(t)) recovered++;
successes.sort((a, b) => a - b);
let gap = 0, gapAt = 0;
for (let i = 1; i < successes.length; i++) {
  if (successes[i] - successes[i - 1] > gap) { gap = successes[i] - successes[i - 1]; gapAt = successes[i - 1] - start; }
}
const doubled = Object.values(codeSuccesses).filter((n) => n > 1).length;
const result = { workers: Number(workers), seconds: Number(seconds), flows, refreshes, retries, codeReplays,
  errors, longest_gap_ms: gap, gap_started_at_ms: gapAt, codes_redeemed_twice: doubled,
  recovered, refresh_token_hashes: refreshHashes };
writeFileSync(out, JSON.stringify(result));
const { refresh_token_hashes, ...summary } = result;
console.log(JSON.stringify(summary));
