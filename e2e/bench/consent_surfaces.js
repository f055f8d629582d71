// What the Supabase surface costs: complete consent flows of new users through
// supabase-js (auth.oauth.* under /auth/v1) against the same flows through our own consent
// API with plain fetch, on one front and one database, back to back.
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
const ours = await run("ours");
const supabase = await run("supabase");
console.log(JSON.stringify({ concurrency: Number(conc), seconds: Number(secs),
  ours_flows_per_s: Number(ours.toFixed(1)), supabase_flows_per_s: Number(supabase.toFixed(1)),
  ratio: Number((supabase / ours).toFixed(2)) }));
