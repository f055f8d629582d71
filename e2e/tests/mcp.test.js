// The official MCP TypeScript SDK (@modelcontextprotocol/sdk) against the front, the way an MCP
// client meets an MCP server protected by oauth_server: the server answers 401 with
// `resource_metadata`; the SDK reads the protected resource metadata (RFC 9728), then our
// authorization server metadata, registers (dynamically, or with a client ID metadata document
// served over https on loopback), runs PKCE with a loopback redirect on an arbitrary port, gets
// tokens whose `aud` is the MCP server, calls a tool, and refreshes when the server says the
// access token has expired.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { FRONT, bearer, consentThrough, pkce, postForm, session, sql } from "./helpers.js";

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url"));
let mcpServer, mcpBase, resource, prm, documentServer, documentUrl;
// How many times the document server was asked for a document.
let documentFetches = 0;
// Tokens issued before this second count as expired at the MCP server (a stand-in for time
// passing beyond their lifetime).
let notBefore = 0;
const jwks = createRemoteJWKSet(new URL(`${FRONT}/.well-known/jwks.json`));

/** A minimal MCP server behind bearer tokens from our front, one tool: whoami. */
async function handle(req, res) {
  const path = new URL(req.url, mcpBase).pathname;
  if (path === "/.well-known/oauth-protected-resource/mcp") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(prm));
    return;
  }
  if (path !== "/mcp") return res.writeHead(404).end();
  const token = (req.headers.authorization ?? "").replace(/^Bearer /i, "");
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(token, jwks, { issuer: FRONT, audience: resource }));
    if (claims.iat < notBefore) throw new Error("expired");
  } catch {
    res.writeHead(401, {
      "www-authenticate": `Bearer error="invalid_token", resource_metadata="${mcpBase}/.well-known/oauth-protected-resource/mcp"`,
    }).end();
    return;
  }
  const server = new McpServer({ name: "whoami-server", version: "1.0.0" });
  server.tool("whoami", "The signed-in user and the acting client", async () => ({
    content: [{ type: "text", text: `${claims.sub} via ${claims.client_id}` }],
  }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on("close", () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res);
}

before(async () => {
  mcpServer = http.createServer((req, res) => handle(req, res).catch(() => res.writeHead(500).end()));
  await new Promise((r) => mcpServer.listen(0, "127.0.0.1", r));
  mcpBase = `http://127.0.0.1:${mcpServer.address().port}`;
  resource = `${mcpBase}/mcp`;
  sql("SELECT oauth.set_scope('mcp:tools', 'Use the tools of the MCP server')");
  sql("SELECT oauth.add_resource(:'p1', 'whoami MCP server', ARRAY['openid', 'mcp:tools'])", resource);
  // The MCP server serves the document the extension produces for it.
  prm = JSON.parse(sql("SELECT oauth.protected_resource_metadata(:'p1')", resource));

  if (process.env.TLS_CERT) {
    documentServer = https.createServer({
      cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY),
    }, (req, res) => {
      documentFetches++;
      const doc = {
        client_id: documentUrl, client_name: "Whoami MCP client (metadata document)",
        client_uri: "https://mcp-client.example", redirect_uris: ["http://127.0.0.1/callback"],
        grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
        token_endpoint_auth_method: "none",
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(doc));
    });
    await new Promise((r) => documentServer.listen(0, "127.0.0.1", r));
    documentUrl = `https://127.0.0.1:${documentServer.address().port}/oauth/mcp-client.json`;
  }
});

after(() => {
  mcpServer?.close();
  mcpServer?.closeAllConnections();
  documentServer?.close();
  documentServer?.closeAllConnections();
});

/** An OAuthClientProvider that keeps everything in memory and records the redirect. */
class MemoryProvider {
  constructor({ clientMetadataUrl } = {}) {
    this.clientMetadataUrl = clientMetadataUrl;
    // Any loopback port: the registered URI has none (metadata document) or another one.
    this.port = 20000 + Math.floor(Math.random() * 40000);
    this.saved = { tokens: [] };
  }
  get redirectUrl() { return `http://127.0.0.1:${this.port}/callback`; }
  get clientMetadata() {
    return { client_name: "Whoami MCP client", redirect_uris: [`http://127.0.0.1:${this.port}/callback`],
      grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
      token_endpoint_auth_method: "none" };
  }
  clientInformation() { return this.saved.client; }
  saveClientInformation(info) { this.saved.client = info; }
  tokens() { return this.saved.tokens.at(-1); }
  saveTokens(tokens) { this.saved.tokens.push(tokens); }
  redirectToAuthorization(url) { this.authorizationUrl = url; }
  saveCodeVerifier(v) { this.saved.verifier = v; }
  codeVerifier() { return this.saved.verifier; }
}

async function connect(provider) {
  const client = new Client({ name: "oauth_server e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }));
  return client;
}

/** The first connection is refused; the user consents; the SDK exchanges the code. */
async function authorizeThroughSdk(provider, user) {
  const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
  await assert.rejects(new Client({ name: "e2e", version: "1.0.0" }).connect(transport), UnauthorizedError);
  const url = provider.authorizationUrl;
  assert.ok(url, "the SDK asked for a browser redirect");
  assert.equal(url.origin + url.pathname, `${FRONT}/oauth/authorize`);
  assert.equal(url.searchParams.get("resource"), resource);
  assert.equal(url.searchParams.get("code_challenge_method"), "S256");
  const back = await consentThrough(url, { user });
  assert.equal(back.origin, `http://127.0.0.1:${provider.port}`);
  await transport.finishAuth(back.searchParams.get("code"));
}

test("MCP SDK: discovery, dynamic registration, PKCE on a loopback port, aud = the MCP server, refresh on expiry", async () => {
  const provider = new MemoryProvider();
  await authorizeThroughSdk(provider, "mcp-alice");
  assert.ok(provider.saved.client.client_id, "registered dynamically");
  const tokens = provider.tokens();
  assert.equal(claimsOf(tokens.access_token).aud, resource);
  assert.ok(tokens.refresh_token);

  const client = await connect(provider);
  const who = await client.callTool({ name: "whoami", arguments: {} });
  assert.equal(who.content[0].text, `mcp-alice via ${provider.saved.client.client_id}`);

  // The access token "expires": the server answers 401, the SDK refreshes and retries.
  notBefore = Math.floor(Date.now() / 1000) + 1;
  await new Promise((r) => setTimeout(r, 1100));
  const again = await client.callTool({ name: "whoami", arguments: {} });
  assert.equal(again.content[0].text, `mcp-alice via ${provider.saved.client.client_id}`);
  assert.equal(provider.saved.tokens.length, 2, "one refresh");
  const refreshed = provider.tokens();
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, "the refresh token rotated");
  assert.equal(claimsOf(refreshed.access_token).aud, resource);
  await client.close();
});

test("MCP SDK: a client ID metadata document served on loopback identifies the client", { skip: !process.env.TLS_CERT && "TLS_CERT not set" }, async () => {
  const provider = new MemoryProvider({ clientMetadataUrl: documentUrl });
  await authorizeThroughSdk(provider, "mcp-bob");
  assert.equal(provider.saved.client.client_id, documentUrl, "no registration: the URL is the client_id");
  const client = await connect(provider);
  const who = await client.callTool({ name: "whoami", arguments: {} });
  assert.equal(who.content[0].text, `mcp-bob via ${documentUrl}`);
  await client.close();
  const stored = JSON.parse(sql("SELECT to_jsonb(c) - 'client_secret_hash' FROM oauth.clients c WHERE client_id = :'p1'", documentUrl));
  assert.equal(stored.client_type, "public");
  assert.equal(stored.name, "Whoami MCP client (metadata document)");
  assert.ok(stored.metadata_document_fetched_at);
});

test("a client ID metadata document that names another URL is refused without a redirect", { skip: !process.env.TLS_CERT && "TLS_CERT not set" }, async () => {
  // The document server answers with its own URL whatever path is asked: a mismatch here.
  const url = documentUrl.replace("mcp-client.json", "other.json");
  const res = await fetch(`${FRONT}/oauth/authorize?` + new URLSearchParams({
    response_type: "code", client_id: url, redirect_uri: "http://127.0.0.1/callback",
    code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", code_challenge_method: "S256",
  }), { redirect: "manual" });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error, "invalid_client");
  assert.match(body.error_description, /client_id/);
});

const SETTING = "oauth_server.client_id_metadata_documents";

/** Turns client metadata documents on or off for the whole cluster with ALTER SYSTEM and a
 * reload, which reaches the front's open connections at their next statement (ALTER DATABASE
 * would reach new connections only); waits until discovery says so. */
async function documentsSwitch(on) {
  sql(`SELECT oauth.metadata() IS NOT NULL;
       ALTER SYSTEM ${on ? `RESET ${SETTING}` : `SET ${SETTING} = off`};
       SELECT pg_reload_conf();`);
  for (let i = 0; i < 50; i++) {
    const md = await (await fetch(`${FRONT}/.well-known/oauth-authorization-server`)).json();
    if (md.client_id_metadata_document_supported === on) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`discovery never said client_id_metadata_document_supported: ${on}`);
}

function assertSwitchedOff(what, res, body) {
  assert.equal(res.status, 400, `${what}: ${JSON.stringify(body)}`);
  assert.equal(body.error, "unauthorized_client", what);
  assert.ok(body.error_description.includes(SETTING), `${what} names the setting: ${body.error_description}`);
  assert.equal(res.headers.get("location"), null, what);
}

test("client metadata documents switched off: the next request is refused, cache or not, nothing is fetched; switched on, the client goes on", { skip: !process.env.TLS_CERT && "TLS_CERT not set" }, async () => {
  const { verifier, challenge } = pkce();
  const callback = "http://127.0.0.1:4242/callback";
  const authorizeUrl = (clientId) => `${FRONT}/oauth/authorize?` + new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: callback, scope: "openid",
    code_challenge: challenge, code_challenge_method: "S256",
  });
  // While on: tokens with a refresh token, and a request left pending on the consent page.
  const back = await consentThrough(new URL(authorizeUrl(documentUrl)), { user: "doc-carol" });
  const tokenRes = await postForm("/oauth/token", { grant_type: "authorization_code", code: back.searchParams.get("code"),
    code_verifier: verifier, redirect_uri: callback, client_id: documentUrl });
  const tokens = await tokenRes.json();
  assert.equal(tokenRes.status, 200, JSON.stringify(tokens));
  const open = await fetch(authorizeUrl(documentUrl), { redirect: "manual" });
  assert.equal(open.status, 302);
  const pendingId = new URL(open.headers.get("location")).searchParams.get("authorization_id");
  const carol = await session("doc-carol");

  await documentsSwitch(false);
  try {
    const fetchesBefore = documentFetches;
    // The document is cached by the front (fetched moments ago): refused all the same.
    let res = await fetch(authorizeUrl(documentUrl), { redirect: "manual" });
    assertSwitchedOff("authorize", res, await res.json());
    // A URL never seen: refused naming the setting, and not fetched.
    res = await fetch(authorizeUrl(documentUrl + "?never-seen"), { redirect: "manual" });
    assertSwitchedOff("authorize, a URL never seen", res, await res.json());
    assert.equal(documentFetches, fetchesBefore, "nothing is fetched while documents are off");
    res = await postForm("/oauth/token", { grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: documentUrl });
    assertSwitchedOff("refresh", res, await res.json());
    res = await fetch(`${FRONT}/oauth/authorizations/${pendingId}`, { headers: bearer(carol) });
    assertSwitchedOff("the consent page", res, await res.json());
  } finally {
    await documentsSwitch(true);
  }
  // Back on: the pending request is approved, the refresh token (not used up) rotates, and a
  // new request is accepted.
  const decided = await fetch(`${FRONT}/oauth/authorizations/${pendingId}/consent`, {
    method: "POST", headers: { ...bearer(carol), "content-type": "application/json" },
    body: JSON.stringify({ approve: true }),
  });
  const redirect = await decided.json();
  assert.equal(decided.status, 200, JSON.stringify(redirect));
  assert.ok(new URL(redirect.redirect_to).searchParams.get("code"));
  const refreshed = await postForm("/oauth/token", { grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: documentUrl });
  assert.equal(refreshed.status, 200, await refreshed.text());
  const again = await fetch(authorizeUrl(documentUrl), { redirect: "manual" });
  assert.equal(again.status, 302);
});
