// Load generator for the HTTP benchmark: drives either oauth-front or oidc-provider with the
// same client behaviour and reports operations per second.
//   node load.js <ours|oidc-provider> <mode> <base-url> <concurrency> <seconds>
// refresh: each worker rotates its own refresh token chain (grant_type=refresh_token).
// flow:    a returning user with a prior consent: authorize -> (consent step) -> code -> token.
// fresh:   a complete flow of a new user: sign-in, authorize, the consent page, approval, code
//          -> token (ours: the demo sign-in and the consent API; oidc-provider: a new cookie jar,
//          its interaction logs a new account in and records its consent).
// client_credentials: the client's own token (Basic auth); a 3-part JWT access token each time.
// introspect: a resource server's check of a token the warm-up obtained (Basic auth), which must
//          be active. Ours introspects its JWT access token; oidc-provider cannot (it answers 400
//          unsupported_token_type for any JWT), so it introspects its opaque refresh token.
// introspect_refresh: both introspect their refresh token (the like-for-like comparison).
// mixed:   (ours only; the soak) a flow, three refreshes, userinfo, introspection of the access
//          token and revocation of the refresh token: every hot endpoint in one iteration.
// PROGRESS_SECONDS (env): also print a progress line to stderr that often.
// CPU_PROBE (env, JSON; see proc_cpu.js): the server processes whose CPU time to report, read
// right before the timed part and right after it, so the warm-up is not charged to it.
// Environment: CLIENT_ID, CLIENT_SECRET, REDIRECT.
import http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { cpuProbe } from "./proc_cpu.js";

const [target, mode, base, conc = "8", secs = "10"] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(conc) * 2 });
const CLIENT_ID = process.env.CLIENT_ID, SECRET = process.env.CLIENT_SECRET;
const REDIRECT = process.env.REDIRECT ?? "http://127.0.0.1/callback";
const basicAuth = "Basic " + Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(SECRET)}`).toString("base64");
const SCOPE = target === "ours" ? "openid email" : "openid email api:read";
const ours = target === "ours";
const TOKEN_PATH = ours ? "/oauth/token" : "/token";
const INTROSPECT_PATH = ours ? "/oauth/introspect" : "/token/introspection";

let requests = 0;
function request(method, url, { headers = {}, body } = {}) {
  requests++;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

const form = (o) => new URLSearchParams(o).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded", authorization: basicAuth };

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function authorizeUrl(p) {
  const path = target === "ours" ? "/oauth/authorize" : "/auth";
  return `${base}${path}?` + form({ response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT,
    scope: SCOPE, code_challenge: p.challenge, code_challenge_method: "S256", state: "s",
    ...(target === "ours" ? {} : { prompt: "" }) }).replace("&prompt=", "");
}

class Fail extends Error {}
const expect = (cond, what) => { if (!cond) throw new Fail(what); };

// One worker's identity: ours uses a user session token (the consent page's); oidc-provider
// a browser cookie jar.
async function signIn(w, user) {
  w.user = user;
  w.cookies = new Map();
  if (target === "ours") {
    const r = await request("POST", `${base}/demo/session`, { headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: w.user }) });
    expect(r.status === 200, `sign-in ${r.status} ${r.body}`);
    w.session = JSON.parse(r.body).session_token;
  }
}

async function newWorker(i) {
  const w = {};
  await signIn(w, `bench-user-${i}`);
  return w;
}

const cookieHeader = (w) => [...w.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
function keepCookies(w, res) {
  for (const c of res.headers["set-cookie"] ?? []) {
    const [kv] = c.split(";");
    const [k, v] = kv.split("=");
    if (v === "" || /expires=Thu, 01 Jan 1970/i.test(c)) w.cookies.delete(k); else w.cookies.set(k, v);
  }
}

// authorize -> code, as a returning user.
async function code(w, p) {
  if (target === "ours") {
    const a = await request("GET", authorizeUrl(p));
    expect(a.status === 302, `authorize ${a.status}`);
    const id = new URL(a.headers.location).searchParams.get("authorization_id");
    const auth = { authorization: `Bearer ${w.session}` };
    let d = JSON.parse((await request("GET", `${base}/oauth/authorizations/${id}`, { headers: auth })).body);
    expect(!w.expectConsent || (!d.redirect_to && d.client), `a new user was not asked: ${JSON.stringify(d)}`);
    if (!d.redirect_to) {
      d = JSON.parse((await request("POST", `${base}/oauth/authorizations/${id}/consent`,
        { headers: { ...auth, "content-type": "application/json" }, body: '{"approve":true}' })).body);
    }
    return new URL(d.redirect_to).searchParams.get("code");
  }
  let url = authorizeUrl(p);
  for (let hops = 0; hops < 8; hops++) {
    const r = await request("GET", url, { headers: { cookie: cookieHeader(w) } });
    keepCookies(w, r);
    expect(r.status >= 300 && r.status < 400, `oidc-provider ${url} ${r.status} ${r.body.slice(0, 200)}`);
    const next = new URL(r.headers.location, base);
    if (next.pathname.startsWith("/interaction/")) w.asked = true;
    if (next.href.startsWith(REDIRECT)) {
      expect(!w.expectConsent || w.asked, "a new user was not asked");
      return next.searchParams.get("code");
    }
    url = next.href;
  }
  throw new Fail("too many redirects");
}

async function exchange(w) {
  const p = pkce();
  const c = await code(w, p);
  expect(c, "no code");
  const r = await request("POST", base + TOKEN_PATH, { headers: FORM,
    body: form({ grant_type: "authorization_code", code: c, code_verifier: p.verifier, redirect_uri: REDIRECT }) });
  expect(r.status === 200, `token ${r.status} ${r.body}`);
  const t = JSON.parse(r.body);
  expect(t.access_token && t.id_token && t.refresh_token, "incomplete token response");
  expect(t.access_token.split(".").length === 3, "the access token is not a JWT");
  return t;
}

async function refresh(w) {
  const r = await request("POST", base + TOKEN_PATH, { headers: FORM,
    body: form({ grant_type: "refresh_token", refresh_token: w.refreshToken }) });
  expect(r.status === 200, `refresh ${r.status} ${r.body}`);
  const t = JSON.parse(r.body);
  expect(t.access_token && t.id_token, "incomplete refresh response");
  expect(t.access_token.split(".").length === 3, "the access token is not a JWT");
  w.refreshToken = t.refresh_token;
}

async function clientCredentials() {
  const r = await request("POST", base + TOKEN_PATH, { headers: FORM, body: form({ grant_type: "client_credentials" }) });
  expect(r.status === 200, `client_credentials ${r.status} ${r.body}`);
  const t = JSON.parse(r.body);
  expect(t.access_token?.split(".").length === 3, `the access token is not a JWT: ${r.body}`);
}

async function introspect(token) {
  const r = await request("POST", base + INTROSPECT_PATH, { headers: FORM, body: form({ token }) });
  expect(r.status === 200 && JSON.parse(r.body).active === true, `introspect ${r.status} ${r.body}`);
}

// Everything else a client does with its tokens, for the mixed mode.
async function useTokens(w, t) {
  const u = await request("GET", `${base}/oauth/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } });
  expect(u.status === 200 && JSON.parse(u.body).sub === w.user, `userinfo ${u.status} ${u.body}`);
  await introspect(t.access_token);
  const r = await request("POST", `${base}/oauth/revoke`, { headers: FORM, body: form({ token: w.refreshToken }) });
  expect(r.status === 200, `revoke ${r.status} ${r.body}`);
}

async function mixed(w) {
  const t = await exchange(w);
  w.refreshToken = t.refresh_token;
  for (let i = 0; i < 3; i++) await refresh(w);
  await useTokens(w, t);
}

const workers = await Promise.all(Array.from({ length: Number(conc) }, (_, i) => newWorker(i)));
for (const w of workers) { // warm-up + first consent
  const t = await exchange(w);
  w.refreshToken = t.refresh_token;
  // What the introspect mode checks: see the header (oidc-provider refuses JWTs).
  w.introspected = mode === "introspect" && ours ? t.access_token : t.refresh_token;
}
let ops = 0, errors = 0;
requests = 0; // the warm-up does not count
const firstErrors = [];
const probe = cpuProbe(process.env.CPU_PROBE);
const end = Date.now() + Number(secs) * 1000;
const start = Date.now();
const cpu0 = process.cpuUsage();
const every = Number(process.env.PROGRESS_SECONDS ?? 0);
const progress = every > 0 && setInterval(() => console.error(JSON.stringify({
  at: Math.round((Date.now() - start) / 1000), ops, requests, errors })), every * 1000);
await Promise.all(workers.map(async (w) => {
  while (Date.now() < end) {
    try {
      if (mode === "refresh") await refresh(w);
      else if (mode === "client_credentials") await clientCredentials();
      else if (mode.startsWith("introspect")) await introspect(w.introspected);
      else if (mode === "mixed") await mixed(w);
      else if (mode === "fresh") {
        await signIn(w, `fresh-${randomBytes(9).toString("base64url")}`);
        w.expectConsent = true;
        w.asked = false;
        await exchange(w);
      } else await exchange(w);
      ops++;
    } catch (e) {
      errors++;
      if (firstErrors.length < 3) firstErrors.push(String(e.message ?? e));
      if (mode === "refresh") w.refreshToken = (await exchange(w)).refresh_token;
    }
  }
}));
const cpu = process.cpuUsage(cpu0);
const elapsed = (Date.now() - start) / 1000;
const serverCpuMs = probe?.(); // every worker has its answer: the servers are idle again
if (progress) clearInterval(progress);
// The load generator's own CPU per operation: it shares the machine with the servers.
const loadCpuMs = ops ? (cpu.user + cpu.system) / 1000 / ops : 0;
console.log(JSON.stringify({ target, mode, concurrency: Number(conc), seconds: elapsed,
  ops, requests, errors, per_second: Math.round(ops / elapsed), load_cpu_ms: Number(loadCpuMs.toFixed(3)),
  ...(serverCpuMs && { server_cpu_ms: serverCpuMs }), first_errors: firstErrors }));
