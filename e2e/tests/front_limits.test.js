// The front's per-address limits as an attacker meets them over real HTTP, each against a
// front of its own (so that budgets are small and the suite's front is not disturbed), all
// on the suite's database: the client authentication budget keyed on (client_id, address)
// that never refuses the right secret, trusted proxy hops, IPv6 /64 buckets, device user
// codes however they are spelled, and the limit on client metadata document fetches.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { REDIRECT, basic, bearer, createClient, pkce, session, startFront } from "./helpers.js";

const skip = !process.env.FRONT_BIN && "FRONT_BIN not set";
const front = startFront;

const form = (base, path, body, headers = {}) => fetch(base + path, { method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(body) });
const from = (addr) => ({ "x-forwarded-for": `6.6.6.6, ${addr}` }); // a spoofed entry, then the proxy's

test("secret guessing behind a proxy: a guesser of one client locks out neither other clients, nor that client elsewhere, nor the right secret", { skip }, async () => {
  const f = await front(["--trusted-proxy-hops", "1", "--client-auth-failures-per-minute", "3"]);
  try {
    const victim = createClient({ grants: "client_credentials" });
    const other = createClient({ grants: "client_credentials" });
    const cc = { grant_type: "client_credentials" };
    const guesser = "198.51.100.7";
    for (let i = 0; i < 3; i++) {
      assert.equal((await form(f.base, "/oauth/token", cc, { ...basic(victim.client_id, `guess${i}`), ...from(guesser) })).status, 401);
    }
    // Past the budget, a wrong secret is 429 (after a pause), at every endpoint…
    const t0 = Date.now();
    const spent = await form(f.base, "/oauth/token", cc, { ...basic(victim.client_id, "guess3"), ...from(guesser) });
    assert.equal(spent.status, 429);
    assert.ok(Date.now() - t0 >= 4000, "a failure past the budget is held before its answer");
    assert.ok(Number(spent.headers.get("retry-after")) > 0);
    assert.equal((await spent.json()).error, "slow_down");
    // …but the right secret still gets through, from the guesser's very address, at all four.
    for (const path of ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/device_authorization"]) {
      const res = await form(f.base, path, { ...cc, token: "x" }, { ...basic(victim.client_id, victim.client_secret), ...from(guesser) });
      assert.notEqual(res.status, 429, path);
      assert.notEqual(res.status, 401, path);
    }
    // Another client from the same address has its own budget.
    assert.equal((await form(f.base, "/oauth/token", cc, { ...basic(other.client_id, "nope"), ...from(guesser) })).status, 401);
    assert.equal((await form(f.base, "/oauth/token", cc, basic(other.client_id, other.client_secret))).status, 200);
    // The victim elsewhere (another address behind the same proxy) is untouched: wrong is
    // 401, right is 200; before this rule the proxy's address was one bucket for everyone.
    const elsewhere = from("203.0.113.9");
    assert.equal((await form(f.base, "/oauth/token", cc, { ...basic(victim.client_id, "typo"), ...elsewhere })).status, 401);
    assert.equal((await form(f.base, "/oauth/token", cc, { ...basic(victim.client_id, victim.client_secret), ...elsewhere })).status, 200);
    // While one attempt of a spent key is checked and held, the others are refused unchecked.
    const [a, b] = await Promise.all([1, 2].map((i) =>
      form(f.base, "/oauth/token", cc, { ...basic(victim.client_id, `more${i}`), ...from(guesser) })));
    assert.deepEqual([a.status, b.status], [429, 429]);
  } finally {
    f.stop();
  }
});

test("secret guessing from one IPv6 /64: changing the interface id does not refill the budget", { skip }, async () => {
  const f = await front(["--trusted-proxy-hops", "1", "--client-auth-failures-per-minute", "2"]);
  try {
    const c = createClient({ grants: "client_credentials" });
    const cc = { grant_type: "client_credentials" };
    const statuses = [];
    for (const host of ["2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:aaaa:bbbb:cccc:dddd"]) {
      statuses.push((await form(f.base, "/oauth/token", cc, { ...basic(c.client_id, "guess"), ...from(host) })).status);
    }
    assert.deepEqual(statuses, [401, 401, 429]);
    // The next /64 is someone else.
    assert.equal((await form(f.base, "/oauth/token", cc, { ...basic(c.client_id, "guess"), ...from("2001:db8:5:7::1") })).status, 401);
  } finally {
    f.stop();
  }
});

const register = (base, xff) => fetch(`${base}/oauth/register`, { method: "POST",
  headers: { "content-type": "application/json", "x-forwarded-for": xff },
  body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: "limits" }) });

test("trusted proxy hops: behind a CDN and a load balancer the client is the second entry from the right", { skip }, async () => {
  const f = await front(["--trusted-proxy-hops", "2", "--register-per-minute", "2"]);
  try {
    // The client spoofs the left entries; the CDN edge (rightmost) varies per request.
    assert.equal((await register(f.base, "1.1.1.1, 198.51.100.50, 192.0.2.1")).status, 201);
    assert.equal((await register(f.base, "2.2.2.2, 198.51.100.50, 192.0.2.2")).status, 201);
    const third = await register(f.base, "3.3.3.3, 198.51.100.50, 192.0.2.3");
    assert.equal(third.status, 429, "the same client, whatever it spoofs and whichever edge it came through");
    // Another client through the same CDN edge is not affected (the edge is not the key).
    assert.equal((await register(f.base, "198.51.100.51, 192.0.2.1")).status, 201);
  } finally {
    f.stop();
  }
  // --trust-forwarded-for is one hop: the rightmost entry.
  const g = await front(["--trust-forwarded-for", "--register-per-minute", "1"]);
  try {
    assert.equal((await register(g.base, "9.9.9.9, 198.51.100.60")).status, 201);
    assert.equal((await register(g.base, "8.8.8.8, 198.51.100.60")).status, 429);
    assert.equal((await register(g.base, "198.51.100.60, 198.51.100.61")).status, 201);
  } finally {
    g.stop();
  }
});

test("device user codes: padding, case and length do not escape the limit, real authorization ids are not counted", { skip }, async () => {
  const f = await front(["--user-codes-per-minute", "3"]);
  try {
    const token = await session("padder");
    const get = (id) => fetch(`${f.base}/oauth/authorizations/${encodeURIComponent(id)}`, { headers: bearer(token) });
    const padded = ["BCDF-GHJK------------", "bcdf-ghjk-----------------------------------".slice(0, 43), "B-C-D-F-G-H-J-K"];
    for (const id of padded) assert.equal((await get(id)).status, 404, id);
    const limited = await get("BCDF-GHJK" + "-".repeat(34));
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 0, "Retry-After on the 429");
    assert.equal((await limited.json()).error, "slow_down");
    // A real authorization id is still served to its user.
    const c = createClient();
    const p = pkce();
    const q = new URLSearchParams({ response_type: "code", client_id: c.client_id, redirect_uri: REDIRECT,
      code_challenge: p.challenge, code_challenge_method: "S256" });
    const res = await fetch(`${f.base}/oauth/authorize?${q}`, { redirect: "manual" });
    const id = new URL(res.headers.get("location")).searchParams.get("authorization_id");
    assert.equal(id.length, 43);
    assert.equal((await get(id)).status, 200);
  } finally {
    f.stop();
  }
});

test("client metadata document fetches: limited per address and per host; a refusal is 429 JSON, never a redirect", { skip }, async () => {
  // Port 9 on loopback refuses connections: each fetch fails fast, and each new URL is a fetch.
  const doc = (n, host = "127.0.0.1:9") => `https://${host}/client-${n}-${Math.random()}.json`;
  const authorize = (base, clientId, headers = {}) => fetch(`${base}/oauth/authorize?` + new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: REDIRECT, code_challenge: pkce().challenge,
    code_challenge_method: "S256" }), { redirect: "manual", headers });
  const f = await front(["--allow-private-fetch", "--document-fetches-per-minute", "2", "--trusted-proxy-hops", "1",
    "--document-fetches-per-host-per-minute", "3"]);
  try {
    const first = doc(1);
    assert.equal((await authorize(f.base, first, from("198.51.100.1"))).status, 400);
    assert.equal((await authorize(f.base, doc(2), from("198.51.100.1"))).status, 400);
    const limited = await authorize(f.base, doc(3), from("198.51.100.1"));
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("location"), null);
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
    assert.equal((await limited.json()).error, "temporarily_unavailable");
    // A document already tried is answered from the cache: no fetch, no charge.
    assert.equal((await authorize(f.base, first, from("198.51.100.1"))).status, 400);
    // Per host: a third address may make the host's third fetch, a fourth may not.
    assert.equal((await authorize(f.base, doc(4), from("198.51.100.2"))).status, 400);
    const host = await authorize(f.base, doc(5), from("198.51.100.3"));
    assert.equal(host.status, 429);
    assert.match((await host.json()).error_description, /host/);
  } finally {
    f.stop();
  }
});

test("client metadata document fetches ignore HTTPS_PROXY: the proxy would resolve the name and skip the address fence", { skip }, async () => {
  let connections = 0;
  const proxy = net.createServer((s) => { connections++; s.destroy(); });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  const proxyUrl = `http://127.0.0.1:${proxy.address().port}`;
  const f = await front([], { HTTPS_PROXY: proxyUrl, https_proxy: proxyUrl, ALL_PROXY: proxyUrl, NO_PROXY: "" });
  try {
    const res = await fetch(`${f.base}/oauth/authorize?` + new URLSearchParams({ response_type: "code",
      client_id: "https://internal.example/client.json", redirect_uri: REDIRECT,
      code_challenge: pkce().challenge, code_challenge_method: "S256" }), { redirect: "manual" });
    assert.equal(res.status, 400);
    assert.equal(connections, 0, "the front went through the proxy");
  } finally {
    f.stop();
    proxy.close();
  }
});
