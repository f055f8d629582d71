// What the Supabase surface costs: complete consent flows of new users through our own consent
// API, through the Supabase routes with the same requests (the front's translation), and
// through supabase-js itself (auth.oauth.*, which also checks the session with GET /user), on
// one front and one database, back to back.
//   node bench/consent_surfaces.js <base-url> <concurrency> <seconds>
// Each flow: a demo sign-in (setSession for supabase-js), GET /oauth/authorize, the details,
// approve, and the code exchanged at the token endpoint. Needs --demo-login; CLIENT_ID,
// CLIENT_SECRET and REDIRECT (a client registered for REDIRECT) in the environment.
import { createHash, randomBytes } from "node:crypto";
import { createClient } from "@supabase/supabase-js";

const [base, conc = "4", secs = "10"] = process.argv.slice(2);
const { CLIENT_ID, CLIENT_SECRET, REDIRECT } = process.env;
const basic = "Basic " + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64");
const OPTIONS = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: class {} } };
let userCounter = 0;

async function pendingRequest() {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const q = new URLSearchParams({ response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT,
    scope: "openid email", state: "s", code_challenge: challenge, code_challenge_method: "S256" });
  const res = await fetch(`${base}/oauth/authorize?${q}`, { redirect: "manual" });
  return { id: new URL(res.headers.get("location")).searchParams.get("authorization_id"), verifier };
}

async function signIn() {
  const res = await fetch(`${base}/demo/session`, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: `bench-${process.pid}-${userCounter++}` }) });
  return (await res.json()).session_token;
}

async function redeem(url, verifier) {
  const code = new URL(url).searchParams.get("code");
  const res = await fetch(`${base}/oauth/token`, { method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic },
    body: new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT }) });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  await res.json();
}

const flows = {
  async supabase() {
    const sb = createClient(base, "anon", OPTIONS);
    const { error } = await sb.auth.setSession({ access_token: await signIn(), refresh_token: "none" });
    if (error) throw error;
    const req = await pendingRequest();
    const shown = await sb.auth.oauth.getAuthorizationDetails(req.id);
    if (shown.error) throw shown.error;
    const approved = await sb.auth.oauth.approveAuthorization(req.id);
    if (approved.error) throw approved.error;
    await redeem(approved.data.redirect_url, req.verifier);
  },
  // The same requests as `ours`, to the Supabase routes: what the front's translation costs.
  async supabase_routes() {
    const auth = { authorization: `Bearer ${await signIn()}`, "x-supabase-api-version": "2024-01-01" };
    const req = await pendingRequest();
    const shown = await fetch(`${base}/auth/v1/oauth/authorizations/${req.id}`, { headers: auth });
    if (shown.status !== 200) throw new Error(`details: ${shown.status}`);
    await shown.json();
    const decided = await fetch(`${base}/auth/v1/oauth/authorizations/${req.id}/consent`, { method: "POST",
      headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ action: "approve" }) });
    await redeem((await decided.json()).redirect_url, req.verifier);
  },
  async ours() {
    const token = await signIn();
    const auth = { authorization: `Bearer ${token}` };
    const req = await pendingRequest();
    const shown = await fetch(`${base}/oauth/authorizations/${req.id}`, { headers: auth });
    if (shown.status !== 200) throw new Error(`details: ${shown.status}`);
    await shown.json();
    const decided = await fetch(`${base}/oauth/authorizations/${req.id}/consent`, { method: "POST",
      headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ approve: true }) });
    await redeem((await decided.json()).redirect_to, req.verifier);
  },
};

async function run(name) {
  const end = Date.now() + Number(secs) * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: Number(conc) }, async () => {
    while (Date.now() < end) { await flows[name](); done++; }
  }));
  return done / Number(secs);
}

await run("ours"); // warm-up: connections, plans
// Interleaved twice, so that the database growing during the run weighs on each alike.
const rates = { ours: 0, supabase_routes: 0, supabase: 0 };
for (let round = 0; round < 2; round++) {
  for (const mode of Object.keys(rates)) rates[mode] += (await run(mode)) / 2;
}
const rate = (x) => Number(x.toFixed(1));
console.log(JSON.stringify({ concurrency: Number(conc), seconds: Number(secs),
  ours_flows_per_s: rate(rates.ours), supabase_routes_flows_per_s: rate(rates.supabase_routes),
  supabase_js_flows_per_s: rate(rates.supabase),
  routes_ratio: Number((rates.supabase_routes / rates.ours).toFixed(2)),
  supabase_js_ratio: Number((rates.supabase / rates.ours).toFixed(2)) }));
