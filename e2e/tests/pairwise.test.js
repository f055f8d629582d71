// Pairwise subject identifiers (OIDC Core §8.1) over HTTP: two clients whose
// sector_identifier_uri points at one document (served here, on loopback) see a user under one
// identifier, which is not the user's own; the front fetches the document when the token
// endpoint asks for it (once per client), and a client whose redirect URI the document does
// not list is refused at the token endpoint with the reason, its code unspent. ID tokens are
// verified with jose against the server's JWKS; userinfo agrees.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import * as jose from "jose";
import { FRONT, basic, bearer, consentThrough, createClient, pkce, postForm, sql } from "./helpers.js";

const documents = new Map(); // path → JSON
const fetches = new Map(); // path → GETs
let server;
let base;

before(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    fetches.set(path, (fetches.get(path) ?? 0) + 1);
    const doc = documents.get(path);
    res.writeHead(doc ? 200 : 404, { "content-type": "application/json", connection: "close" });
    res.end(JSON.stringify(doc ?? { error: "not found" }));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A confidential client at `redirect`, pairwise with its sector at `sectorUri`. */
function pairwiseClient(redirect, sectorUri) {
  const c = createClient({ redirect });
  sql(`SELECT oauth.update_client(:'p1', jsonb_build_object('subject_type', 'pairwise',
    'sector_identifier_uri', :'p2'::text))`, c.client_id, sectorUri);
  return c;
}

/** A code flow for `user` through the front → the token endpoint's response and body. */
async function flow(c, redirect, user) {
  const { verifier, challenge } = pkce();
  const url = new URL(`${FRONT}/oauth/authorize`);
  url.search = new URLSearchParams({ client_id: c.client_id, redirect_uri: redirect,
    response_type: "code", scope: "openid", code_challenge: challenge,
    code_challenge_method: "S256", state: "s" }).toString();
  const back = await consentThrough(url, { user });
  const code = back.searchParams.get("code");
  assert.ok(code, back.toString());
  const form = { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: redirect };
  const res = await postForm("/oauth/token", form, basic(c.client_id, c.client_secret));
  return { res, body: await res.json(), form };
}

test("one sector's clients see one identifier, proved by a document the front fetched", async () => {
  const x = "http://127.0.0.1:9/pairwise-x";
  const y = "http://127.0.0.1:9/pairwise-y";
  const path = "/sector-ok.json";
  documents.set(path, [x, y]);
  const cx = pairwiseClient(x, `${base}${path}`);
  const cy = pairwiseClient(y, `${base}${path}`);
  const jwks = jose.createRemoteJWKSet(new URL(`${FRONT}/.well-known/jwks.json`));
  const subOf = async (c, redirect) => {
    const { res, body } = await flow(c, redirect, "pairwise-alice");
    assert.equal(res.status, 200, JSON.stringify(body));
    const { payload } = await jose.jwtVerify(body.id_token, jwks, { issuer: FRONT, audience: c.client_id });
    const info = await (await fetch(`${FRONT}/oauth/userinfo`, { headers: bearer(body.access_token) })).json();
    assert.equal(info.sub, payload.sub);
    return payload.sub;
  };
  const sx = await subOf(cx, x);
  const sy = await subOf(cy, y);
  assert.equal(sx, sy);
  assert.notEqual(sx, "pairwise-alice");
  assert.match(sx, /^[A-Za-z0-9_-]{43}$/);
  // Fetched when first needed, once for each client; not again for the next token.
  assert.equal(fetches.get(path), 2);
  await subOf(cx, x);
  assert.equal(fetches.get(path), 2);
});

test("a document that does not list the redirect URI refuses the client, and spends no code", async () => {
  const z = "http://127.0.0.1:9/pairwise-z";
  const path = "/sector-other.json";
  documents.set(path, ["http://127.0.0.1:9/someone-else"]);
  const cz = pairwiseClient(z, `${base}${path}`);
  const { res, body, form } = await flow(cz, z, "pairwise-bob");
  assert.equal(res.status, 401, JSON.stringify(body));
  assert.equal(body.error, "invalid_client");
  assert.match(body.error_description, /pairwise-z/);
  assert.equal(body.refresh_sector, undefined, "the front's field is not the client's");
  // Fixed at the URI and fetched again (the front does so a minute later; stored here as it
  // would): the same code is still good.
  documents.set(path, [z]);
  sql("SELECT oauth.set_client_sector_document(:'p1', :'p2', :'p3'::jsonb)",
    cz.client_id, `${base}${path}`, JSON.stringify([z]));
  const again = await postForm("/oauth/token", form, basic(cz.client_id, cz.client_secret));
  const t = await again.json();
  assert.equal(again.status, 200, JSON.stringify(t));
  assert.notEqual(jose.decodeJwt(t.id_token).sub, "pairwise-bob");
});
