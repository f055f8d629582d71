// Shared helpers of the end-to-end tests. The test script starts a throwaway cluster and the
// front, and passes their addresses: FRONT_URL (the issuer), PSQL_ARGS (how to reach the
// database with psql as an administrator).
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";

export const FRONT = process.env.FRONT_URL ?? "http://127.0.0.1:18080";
export const REDIRECT = "http://127.0.0.1:9/callback"; // loopback: any port allowed (RFC 8252)

/** Runs SQL as the administrator; returns the first column of the first row as text. */
export function sql(query, ...args) {
  const vars = args.flatMap((a, i) => ["-v", `p${i + 1}=${a}`]);
  const out = execFileSync("psql", [...(process.env.PSQL_ARGS ?? "").split(" ").filter(Boolean),
    "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", ...vars], { input: query, encoding: "utf8" });
  return out.trim();
}

/** Creates a client with SQL (as a DBA would); returns {client_id, client_secret}. */
export function createClient({ type = "confidential", method = null, redirect = REDIRECT,
                               grants = "authorization_code,refresh_token", name = "E2E client" } = {}) {
  const m = method ? `'${method}'` : "NULL";
  return JSON.parse(sql(`SELECT oauth.create_client('${name}', ARRAY['${redirect}'], '${type}',
    grant_types => string_to_array('${grants}', ','), token_endpoint_auth_method => ${m});`));
}

/** A signed-in user's session token, from the front's demo login. */
export async function session(username = "alice") {
  const res = await fetch(`${FRONT}/demo/session`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username }),
  });
  if (res.status !== 200) throw new Error(`demo login: ${res.status}`);
  return (await res.json()).session_token;
}

export function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

export const bearer = (t) => ({ authorization: `Bearer ${t}` });
export const basic = (id, secret) =>
  ({ authorization: "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64") });

/** Follows an authorization URL through the consent API as `user` (a demo login) or as the
 * holder of the session `token`; returns the final redirect (the client's callback URL with
 * code or error). */
export async function consentThrough(authorizeUrl, { user = "alice", approve = true, token = null } = {}) {
  const res = await fetch(authorizeUrl, { redirect: "manual" });
  if (res.status !== 302) throw new Error(`authorize: ${res.status} ${await res.text()}`);
  const location = new URL(res.headers.get("location"));
  const id = location.searchParams.get("authorization_id");
  if (!id) return location; // redirected straight back to the client (an error)
  token ??= await session(user);
  const shown = await fetch(`${FRONT}/oauth/authorizations/${id}`, { headers: bearer(token) });
  const details = await shown.json();
  if (shown.status !== 200) throw new Error(`authorization: ${shown.status} ${JSON.stringify(details)}`);
  if (details.redirect_to) return new URL(details.redirect_to); // consented before
  const decided = await fetch(`${FRONT}/oauth/authorizations/${id}/consent`, {
    method: "POST", headers: { ...bearer(token), "content-type": "application/json" },
    body: JSON.stringify({ approve }),
  });
  return new URL((await decided.json()).redirect_to);
}

export async function postForm(path, form, headers = {}) {
  return fetch(`${FRONT}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

let nextFrontPort = Number(process.env.EXTRA_FRONT_PORT ?? 18192);

/** The base URL the next startFront will listen on (to configure its issuer first). */
export const nextFrontBase = () => `http://127.0.0.1:${nextFrontPort}`;

/** Starts a front of its own (FRONT_BIN) with `flags` and extra `env`, on the suite's
 * database unless `env.DATABASE_URL` says otherwise; waits until it listens (not until the
 * database answers). Returns {base, log(), stop()}. */
export async function startFront(flags, env = {}) {
  const { spawn } = await import("node:child_process");
  const port = nextFrontPort++;
  const child = spawn(process.env.FRONT_BIN, ["--listen", `127.0.0.1:${port}`, "--purge-interval", "0",
    "--jwks-refresh-interval", "0", "--log-format", "text", ...flags],
  { env: { ...process.env, OAUTH_FRONT_LOG: "info", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => { log += d; });
  child.stderr.on("data", (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${base}/healthz`).then(() => true, () => false)) break;
    if (child.exitCode !== null) throw new Error(`oauth-front exited: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, log: () => log, stop: () => child.kill() };
}

/** Debian's Chromium, headless, with the flags this machine's closed network needs (no
 * background fetches that would be refused). */
export async function launchChromium() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
