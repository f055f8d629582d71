// Stand-in upstream identity providers on loopback, for end users signing in through them
// (issue 15, docs/sign-in-contract.md): Sign in with Apple, Microsoft Entra (multi-tenant
// v2.0), WorkOS SSO and a GitHub OAuth app, each speaking its provider's wire protocol as a
// relying party sees it (paths, parameters, error shapes, claim types), plus a real certified
// OpenID Provider (panva's oidc-provider) as the generic upstream.
//
// Every stand-in:
// - serves a login page for the browser: a <select id="user"> of its test users (a `user` or
//   `login_hint` query parameter preselects one; `defaultUser` otherwise) and the buttons
//   #continue and #cancel; `login(authorizeUrl, {user})` does the same over plain HTTP and
//   returns the request the browser would make to the redirect URI;
// - records every request it receives (`received`, `requests(path)`, `last(path)`);
// - can be made to misbehave once: `misbehave({nonce, aud, iss, expired, unknownKid, alg,
//   claims})` for the next ID token it signs, `misbehave({tokenResponse: {status, body}})` for
//   the next token request (WorkOS: `overrideProfiles`, until `behave()`); `keys.rotate()`
//   rotates its signing key (`keys.fetches` counts JWKS fetches);
// - keeps codes single use and bound to the client, redirect URI and PKCE challenge.
import http from "node:http";
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { SignJWT, decodeProtectedHeader, generateKeyPair, importPKCS8, importSPKI, jwtVerify } from "jose";
import { KeySet } from "./stand_in_issuers.js";

const now = () => Math.floor(Date.now() / 1000);
const rand = (n = 16) => randomBytes(n).toString("base64url");
const hex = (n) => randomBytes(n).toString("hex");
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const sha256url = (s) => createHash("sha256").update(s).digest("base64url");

/** OIDC at_hash / c_hash for RS256: the left half of SHA-256, base64url. */
export function halfHash(value) {
  return createHash("sha256").update(value).digest().subarray(0, 16).toString("base64url");
}

/** RFC 7636: does `verifier` answer `challenge` with `method`? */
function pkceMatches(challenge, method, verifier) {
  if (!challenge) return true;
  if (typeof verifier !== "string" || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return false;
  return (method ?? "plain") === "S256" ? sha256url(verifier) === challenge : verifier === challenge;
}

/** Form (or JSON, or query) parameters as an object; a repeated parameter becomes an array. */
function paramsOf(search) {
  const out = {};
  for (const [k, v] of new URLSearchParams(search)) {
    out[k] = k in out ? [].concat(out[k], v) : v;
  }
  return out;
}

function basicCredentials(header) {
  const m = /^Basic\s+(.+)$/i.exec(header ?? "");
  if (!m) return null;
  const raw = Buffer.from(m[1], "base64").toString("utf8");
  const i = raw.indexOf(":");
  if (i < 0) return null;
  return { id: decodeURIComponent(raw.slice(0, i)), secret: decodeURIComponent(raw.slice(i + 1)) };
}

function bearerOf(header) {
  const m = /^(?:Bearer|token)\s+(\S+)$/i.exec(header ?? "");
  return m ? m[1] : null;
}

/** The base of every stand-in: an HTTP server with a route table, a request log, signing
 * keys, a login page, pending authorization requests and single-use codes. */
class Upstream {
  constructor(label, { alg = "RS256", jwksPath = "/keys" } = {}) {
    this.label = label;
    this.alg = alg;
    this.jwksPath = jwksPath;
    this.routes = []; // [method, RegExp, handler(req, res, match)]
    this.received = []; // {method, path, query, form, json, headers, at}
    this.users = new Map();
    this.defaultUser = null;
    this.pending = new Map(); // login page request id -> authorization request
    this.codes = new Map(); // code -> {request, user, used, expiresAt}
    this.accessTokens = new Map(); // access token -> {user, scope, client_id}
    this.faults = null;
    this.route("POST", /^\/_stand_in\/login$/, (req, res) => this.#loginSubmitted(req, res));
  }

  route(method, pattern, handler) {
    this.routes.push([method, pattern, handler]);
  }

  async start() {
    this.keys = new KeySet(this.jwksPath, this.alg);
    await this.keys.addKey();
    // A key this provider never publishes: tokens signed with it name an unknown kid.
    const stray = await generateKeyPair(this.alg, { extractable: true });
    this.strayKey = { kid: `stray-${rand(6)}`, privateKey: stray.privateKey };
    this.server = http.createServer((req, res) => {
      this.#handle(req, res).catch((e) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end(String(e?.stack ?? e));
      });
    });
    await new Promise((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${this.server.address().port}`;
    this.started?.();
    return this;
  }

  stop() {
    this.server?.close();
    this.server?.closeAllConnections?.();
  }

  async #handle(req, res) {
    const url = new URL(req.url, "http://x");
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString("utf8");
    const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    let form = null;
    let json = null;
    if (type === "application/x-www-form-urlencoded") form = paramsOf(raw);
    else if (type === "application/json" && raw) {
      try { json = JSON.parse(raw); } catch { json = undefined; }
    }
    const entry = { method: req.method, path: url.pathname, query: paramsOf(url.search), form, json,
      body: raw, headers: { ...req.headers }, at: Date.now() };
    this.received.push(entry);
    req.entry = entry;
    if (url.pathname === this.jwksPath && req.method === "GET") {
      this.keys.fetches++;
      return sendJson(res, 200, this.jwks());
    }
    for (const [method, pattern, handler] of this.routes) {
      const m = pattern.exec(url.pathname);
      if (m && (method === req.method || (method === "GET|POST" && ["GET", "POST"].includes(req.method)))) {
        return handler(req, res, m, entry);
      }
    }
    const allowed = this.routes.some(([, p]) => p.test(url.pathname));
    sendJson(res, allowed ? 405 : 404, { error: allowed ? "method_not_allowed" : "not_found" });
  }

  jwks() {
    return this.keys.jwks();
  }

  /** Requests received at `path` (a string or RegExp), oldest first. */
  requests(path) {
    return this.received.filter((e) => (path instanceof RegExp ? path.test(e.path) : e.path === path));
  }

  last(path) {
    return this.requests(path).at(-1);
  }

  /** The next ID token this stand-in signs is wrong in the ways named (then it behaves):
   * nonce (a string), aud (a string), iss (a string), expired (true), unknownKid (true),
   * alg (a header alg, e.g. "none" or "HS256"), claims (an object merged last; a key set to
   * undefined removes that claim). */
  misbehave(faults) {
    this.faults = { ...faults };
  }

  behave() {
    this.faults = null;
    this.profileOverrides = null;
  }

  /** A forced answer of the token endpoint (`misbehave({tokenResponse: {status, body}})`),
   * taken once. */
  takeTokenFault() {
    const forced = this.faults?.tokenResponse;
    if (forced) this.faults = null;
    return forced;
  }

  addUser(user) {
    this.users.set(user.id, user);
    return user;
  }

  /** Signs an ID token of `claims` (the defaults first), applying and clearing any faults. */
  async idToken(claims, { header = {} } = {}) {
    const f = this.faults ?? {};
    this.faults = null;
    const t = now();
    const c = { ...claims };
    if (f.nonce !== undefined) c.nonce = f.nonce;
    if (f.aud !== undefined) c.aud = f.aud;
    if (f.iss !== undefined) c.iss = f.iss;
    if (f.expired) {
      c.iat = t - 7200;
      c.exp = t - 3600;
      if ("nbf" in c) c.nbf = t - 7200;
      if ("auth_time" in c) c.auth_time = t - 7200;
    }
    for (const [k, v] of Object.entries(f.claims ?? {})) {
      if (v === undefined) delete c[k];
      else c[k] = v;
    }
    const key = f.unknownKid ? this.strayKey : this.keys.keys[0];
    if (f.alg === "none") {
      const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
      return `${enc({ alg: "none", typ: "JWT" })}.${enc(c)}.`;
    }
    const token = await new SignJWT(c).setProtectedHeader({ alg: this.alg, kid: key.kid, ...header }).sign(key.privateKey);
    this.issuedIdTokens = [...(this.issuedIdTokens ?? []), { claims: c, token, faults: f }];
    return token;
  }

  // --- the login page ----------------------------------------------------------------------

  /** Shows the login page for an authorization request already validated by the provider;
   * `users` are those this request may sign in as. */
  loginPage(res, request, users) {
    const id = rand(12);
    this.pending.set(id, { ...request, users: users.map((u) => u.id) });
    const wanted = request.query.user ?? request.query.login_hint ?? request.query.login ?? this.defaultUser;
    const selected = users.find((u) => u.id === wanted || u.email === wanted || u.login === wanted) ?? users[0];
    const options = users.map((u) => `<option value="${esc(u.id)}"${u === selected ? " selected" : ""}>` +
      `${esc(u.id)} (${esc(u.email ?? u.login ?? "no email")})</option>`).join("");
    sendHtml(res, 200, `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sign in – ${esc(this.label)} (stand-in)</title></head><body>
<h1>Sign in to ${esc(this.label)}</h1>
<p id="requested-by">${esc(request.query.client_id ?? "")} asks for ${esc(request.query.scope ?? "(no scope)")}</p>
<form method="post" action="/_stand_in/login" id="login-form">
  <input type="hidden" name="request" value="${esc(id)}">
  <label for="user">Account</label> <select id="user" name="user">${options}</select>
  <button type="submit" id="continue" name="decision" value="allow">Continue</button>
  <button type="submit" id="cancel" name="decision" value="cancel">Cancel</button>
</form></body></html>`);
  }

  async #loginSubmitted(req, res) {
    const form = req.entry.form ?? {};
    const request = this.pending.get(form.request);
    if (!request) return sendHtml(res, 400, "<h1>This sign-in request has expired</h1>");
    this.pending.delete(form.request);
    if (form.decision === "cancel") return this.respond(res, request, this.cancelled(request));
    if (!request.users.includes(form.user)) return sendHtml(res, 400, "<h1>That account cannot sign in here</h1>");
    const user = this.users.get(form.user);
    const code = this.newCode();
    this.codes.set(code, { request, user, used: false, expiresAt: Date.now() + 600_000 });
    return this.respond(res, request, await this.authorizationResponse(request, user, code));
  }

  newCode() {
    return rand(24);
  }

  /** Redeems a code once: {ok, entry} or {ok: false, why}. A second redemption fails. */
  redeem(code, { clientId, redirectUri, verifier, requireRedirect = true }) {
    const entry = this.codes.get(code);
    if (!entry) return { ok: false, why: "unknown code" };
    if (entry.used) return { ok: false, why: "code already used" };
    entry.used = true;
    if (entry.expiresAt < Date.now()) return { ok: false, why: "code expired" };
    if (entry.request.query.client_id !== clientId) return { ok: false, why: "code issued to another client" };
    if ((requireRedirect || redirectUri !== undefined) && entry.request.query.redirect_uri !== redirectUri) {
      return { ok: false, why: "redirect_uri differs from the authorization request's" };
    }
    if (!pkceMatches(entry.request.query.code_challenge, entry.request.query.code_challenge_method, verifier)) {
      return { ok: false, why: "code_verifier does not match the code_challenge" };
    }
    return { ok: true, entry };
  }

  newAccessToken(user, scope, clientId, prefix = "") {
    const token = prefix + rand(27);
    this.accessTokens.set(token, { user, scope, client_id: clientId });
    return token;
  }

  /** What the user cancelling answers (overridden per provider). */
  cancelled() {
    return { error: "access_denied" };
  }

  /** Sends `params` to the request's redirect URI as its response_mode says. */
  respond(res, request, params) {
    const q = request.query;
    const mode = q.response_mode ?? "query";
    const clean = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined && v !== null));
    if (mode === "form_post") {
      const inputs = Object.entries(clean)
        .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join("\n");
      return sendHtml(res, 200, `<!doctype html><html><head><meta charset="utf-8"><title>Submit this form</title></head>
<body onload="javascript:document.forms[0].submit()">
<form method="post" action="${esc(q.redirect_uri)}">
${inputs}
<noscript><button type="submit">Continue</button></noscript>
</form></body></html>`);
    }
    const target = new URL(q.redirect_uri);
    if (mode === "fragment") target.hash = new URLSearchParams(clean).toString();
    else for (const [k, v] of Object.entries(clean)) target.searchParams.set(k, v);
    res.writeHead(302, { location: target.toString(), "cache-control": "no-store" }).end();
  }

  /** Plays the user on the login page over plain HTTP (no browser): GETs the authorize URL,
   * submits the form as `user` (or cancels), and returns the request the browser would then
   * make to the redirect URI: {method: "GET", url} or {method: "POST", url, form}. When the
   * authorize request itself is refused: {refused: status, body}. */
  async login(authorizeUrl, { user = null, cancel = false } = {}) {
    const page = await fetch(authorizeUrl, { redirect: "manual" });
    const html = await page.text();
    if (page.status !== 200) return { refused: page.status, body: html, location: page.headers.get("location") };
    const id = /name="request" value="([^"]+)"/.exec(html)?.[1];
    if (!id) return { refused: page.status, body: html };
    const chosen = user ?? /<option value="([^"]+)" selected>/.exec(html)?.[1];
    const res = await fetch(`${this.base}/_stand_in/login`, {
      method: "POST", redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ request: id, user: chosen ?? "", decision: cancel ? "cancel" : "allow" }),
    });
    const body = await res.text();
    if (res.status === 302) return { method: "GET", url: res.headers.get("location") };
    if (res.status === 200 && body.includes('<form method="post" action="')) return parseAutoPost(body);
    return { refused: res.status, body };
  }
}

/** The action and fields of an auto-submitting form_post page. */
export function parseAutoPost(html) {
  const unesc = (s) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&quot;/g, '"').replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
  const action = unesc(/<form method="post" action="([^"]*)"/.exec(html)[1]);
  const form = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)) form[unesc(m[1])] = unesc(m[2]);
  return { method: "POST", url: action, form };
}

function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json;charset=UTF-8", "cache-control": "no-store", ...headers })
    .end(JSON.stringify(body));
}

function sendHtml(res, status, html) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(html);
}

// ============================================================================================
// Sign in with Apple (REST API): https://developer.apple.com/documentation/sign_in_with_apple
// ============================================================================================

/** Sign in with Apple. `clientId` is the Services ID, `teamId` and `keyId` name the `.p8` key
 * (`privateKeyPem`, PKCS#8) the relying party signs its client secret JWT with. Users sign in
 * with `response_mode=form_post` (required when the scope names `name` or `email`); the `user`
 * field with the name goes only with a user's first authorization of this Services ID. */
export class AppleStandIn extends Upstream {
  constructor({ clientId = "com.example.signin", teamId = "TEAM12345A", keyId = "KEY7654321" } = {}) {
    super("Apple", { jwksPath: "/auth/keys" });
    this.clientId = clientId;
    this.teamId = teamId;
    this.keyId = keyId;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.privateKeyPem = privateKey.export({ type: "pkcs8", format: "pem" });
    this.publicKeyPem = publicKey.export({ type: "spki", format: "pem" });
    this.redirectUris = new Set(); // Return URLs registered for the Services ID
    this.authorized = new Set(); // users who authorized this Services ID before (no `user` again)
    this.clientSecrets = []; // every client_secret presented: {ok, why, header, claims}
    this.refreshTokens = new Map();
    this.addUser({ id: "alice", sub: "001234.3c8a1f0e9b2d4c7a8e6f5b4a3d2c1e0f.0917", email: "alice@example.com",
      firstName: "Alice", lastName: "Appleseed" });
    this.addUser({ id: "bob", sub: "001234.7d6c5b4a39281706f5e4d3c2b1a09f8e.1022", email: "k7q2x9m4zd@privaterelay.appleid.com",
      firstName: "Bob", lastName: "Relay" });
    this.addUser({ id: "carol", sub: "001234.0a9b8c7d6e5f40312a3b4c5d6e7f8091.1430", email: "carol@example.org",
      firstName: "Carol", lastName: "Second" });

    this.route("GET", /^\/\.well-known\/openid-configuration$/, (req, res) => sendJson(res, 200, this.discovery()));
    this.route("GET|POST", /^\/auth\/authorize$/, (req, res, m, e) => this.authorize(req, res, e));
    this.route("POST", /^\/auth\/token$/, (req, res, m, e) => this.token(req, res, e));
    this.route("POST", /^\/auth\/revoke$/, (req, res) => res.writeHead(200).end());
  }

  /** The options of `oauth.add_sign_in_provider('apple', …)` for this stand-in. */
  providerOptions(extra = {}) {
    return { kind: "apple", client_id: this.clientId, team_id: this.teamId, key_id: this.keyId,
      private_key: this.privateKeyPem, issuer: this.base, ...extra };
  }

  discovery() {
    const b = this.base;
    return {
      issuer: b, authorization_endpoint: `${b}/auth/authorize`, token_endpoint: `${b}/auth/token`,
      revocation_endpoint: `${b}/auth/revoke`, jwks_uri: `${b}/auth/keys`,
      response_types_supported: ["code"], response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"], id_token_signing_alg_values_supported: ["RS256"],
      scopes_supported: ["openid", "email", "name"], token_endpoint_auth_methods_supported: ["client_secret_post"],
      claims_supported: ["aud", "email", "email_verified", "exp", "iat", "is_private_email", "iss", "nonce",
        "nonce_supported", "real_user_status", "sub", "transfer_sub"],
    };
  }

  /** A client secret JWT as Apple documents it, for checking the stand-in itself. */
  async clientSecret(overrides = {}, { kid = this.keyId, key = this.privateKeyPem } = {}) {
    const t = now();
    return new SignJWT({ iss: this.teamId, iat: t, exp: t + 3600, aud: "https://appleid.apple.com", sub: this.clientId, ...overrides })
      .setProtectedHeader({ alg: "ES256", kid }).sign(await importPKCS8(key, "ES256"));
  }

  authorize(req, res, e) {
    const q = { ...e.query, ...(req.method === "POST" ? e.form : {}) };
    const fail = (why) => sendHtml(res, 400, `<h1>invalid_request</h1><p id="error">${esc(why)}</p>`);
    if (Object.values(q).some(Array.isArray)) return fail("repeated parameter");
    if (q.client_id !== this.clientId) return fail("invalid_client: unknown client_id");
    if (!q.redirect_uri || !this.redirectUris.has(q.redirect_uri)) return fail("Invalid web redirect url.");
    if (!["code", "code id_token"].includes(q.response_type)) return fail("unsupported_response_type");
    const scopes = (q.scope ?? "").split(" ").filter(Boolean);
    if (scopes.some((s) => !["name", "email", "openid"].includes(s))) return fail("invalid_scope");
    const mode = q.response_mode ?? (q.response_type === "code" ? "query" : "fragment");
    if (!["query", "fragment", "form_post"].includes(mode)) return fail("invalid response_mode");
    if (scopes.some((s) => s === "name" || s === "email") && mode !== "form_post") {
      return fail("response_mode must be form_post when name or email scope is requested.");
    }
    if (q.response_type.includes("id_token") && mode === "query") return fail("response_mode query is not allowed with id_token");
    this.loginPage(res, { query: { ...q, response_mode: mode }, scopes }, [...this.users.values()]);
  }

  async authorizationResponse(request, user, code) {
    const q = request.query;
    const out = { state: q.state, code };
    if (q.response_type.includes("id_token")) out.id_token = await this.appleIdToken(user, q, { code });
    const key = user.id;
    if (!this.authorized.has(key) && q.response_mode === "form_post") {
      const info = {};
      if (request.scopes.includes("name")) info.name = { firstName: user.firstName, lastName: user.lastName };
      if (request.scopes.includes("email")) info.email = user.email;
      if (Object.keys(info).length) out.user = JSON.stringify(info);
    }
    this.authorized.add(key);
    return out;
  }

  cancelled(request) {
    return { error: "user_cancelled_authorize", state: request.query.state };
  }

  /** Forgets who authorized before: each user's next sign-in carries `user` again (as after
   * the user stops using Apple ID with the app). */
  forgetAuthorizations() {
    this.authorized.clear();
  }

  async appleIdToken(user, q, { accessToken, code } = {}) {
    const t = now();
    const claims = { iss: this.base, aud: q.client_id ?? this.clientId, exp: t + 600, iat: t, sub: user.sub };
    if (q.nonce !== undefined) claims.nonce = q.nonce;
    if (accessToken) claims.at_hash = halfHash(accessToken);
    if (code) claims.c_hash = halfHash(code);
    const scopes = (q.scope ?? "").split(" ");
    if (scopes.includes("email")) {
      claims.email = user.email;
      claims.email_verified = "true";
      if (user.email.endsWith("@privaterelay.appleid.com")) claims.is_private_email = "true";
    }
    claims.auth_time = t - 2;
    claims.nonce_supported = true;
    claims.real_user_status = 2;
    return this.idToken(claims);
  }

  /** Verifies a client secret JWT as Apple does; records and returns {ok, why, header, claims}. */
  async checkClientSecret(secret, clientId) {
    const result = { ok: false, why: null, header: null, claims: null, clientId };
    try {
      result.header = decodeProtectedHeader(secret);
      result.claims = JSON.parse(Buffer.from(String(secret).split(".")[1], "base64url"));
      if (result.header.alg !== "ES256") throw new Error(`alg ${result.header.alg}, not ES256`);
      if (result.header.kid !== this.keyId) throw new Error(`kid ${result.header.kid} is not the key id ${this.keyId}`);
      const { payload } = await jwtVerify(secret, await importSPKI(this.publicKeyPem, "ES256"), {
        algorithms: ["ES256"], issuer: this.teamId, subject: clientId, audience: "https://appleid.apple.com",
        requiredClaims: ["iat", "exp"], clockTolerance: 0,
      });
      if (Array.isArray(payload.aud)) throw new Error("aud is an array");
      if (payload.exp - payload.iat > 15777000) throw new Error("exp is more than 15777000 s after iat");
      if (payload.iat > now() + 60) throw new Error("iat is in the future");
      result.ok = true;
    } catch (err) {
      result.why = err.message;
    }
    this.clientSecrets.push(result);
    return result;
  }

  async token(req, res, e) {
    const f = e.form;
    const error = (error, description) => sendJson(res, 400, description ? { error, error_description: description } : { error });
    const forced = this.takeTokenFault();
    if (forced) return sendJson(res, forced.status ?? 400, forced.body);
    if (!f) return error("invalid_request", "content type must be application/x-www-form-urlencoded");
    if (Object.values(f).some(Array.isArray)) return error("invalid_request");
    if (!f.client_id || !f.client_secret) return error("invalid_request");
    if (f.client_id !== this.clientId) return error("invalid_client");
    const secret = await this.checkClientSecret(f.client_secret, f.client_id);
    if (!secret.ok) return error("invalid_client");
    if (f.grant_type === "refresh_token") {
      const rt = this.refreshTokens.get(f.refresh_token);
      if (!rt) return error("invalid_grant");
      const accessToken = hex(16);
      return sendJson(res, 200, { access_token: accessToken, token_type: "Bearer", expires_in: 3600,
        id_token: await this.appleIdToken(rt.user, rt.q, { accessToken }) });
    }
    if (f.grant_type !== "authorization_code") return error("unsupported_grant_type");
    if (!f.code || !f.redirect_uri) return error("invalid_request");
    const r = this.redeem(f.code, { clientId: f.client_id, redirectUri: f.redirect_uri, verifier: f.code_verifier });
    if (!r.ok) return error("invalid_grant", r.why);
    const { user, request } = r.entry;
    const accessToken = hex(16);
    const refreshToken = `r${hex(16)}.0.${rand(8)}`;
    this.refreshTokens.set(refreshToken, { user, q: request.query });
    sendJson(res, 200, { access_token: accessToken, token_type: "Bearer", expires_in: 3600, refresh_token: refreshToken,
      id_token: await this.appleIdToken(user, request.query, { accessToken }) });
  }
}

// ============================================================================================
// Microsoft Entra ID, multi-tenant, v2.0 endpoints
// ============================================================================================

export const TENANTS = {
  contoso: "6b9c2c5e-1f3a-4d7e-9a1b-2c3d4e5f6a7b",
  fabrikam: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
  consumers: "9188040d-6c67-4c5b-b112-36a304b66dad", // Microsoft accounts' tenant, as in Entra
};

/** Microsoft Entra ID (v2.0): `/{tenant}/…` for `common`, `organizations`, `consumers` or a
 * tenant id; discovery for the multi-tenant endpoints names the issuer as the literal template
 * `…/{tenantid}/v2.0`, and each ID token's iss names the user's own tenant. `sub` is pairwise
 * (per user and application), `oid` the user's id in the tenant, `xms_edov` (when present)
 * says the tenant verified the email's domain. */
export class MicrosoftStandIn extends Upstream {
  constructor({ clientId = randomUUID(), clientSecret = `Qx8~${rand(24)}` } = {}) {
    super("Microsoft", { jwksPath: "/common/discovery/v2.0/keys" });
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this.redirectUris = new Set();
    this.addUser({ id: "alice", tid: TENANTS.contoso, oid: randomUUID(), name: "Alice Contoso",
      preferred_username: "alice@contoso.example", email: "alice@contoso.example", xms_edov: true });
    this.addUser({ id: "bob", tid: TENANTS.fabrikam, oid: randomUUID(), name: "Bob Fabrikam",
      preferred_username: "bob@fabrikam.example", email: "bob@fabrikam.example", xms_edov: true });
    this.addUser({ id: "dave", tid: TENANTS.contoso, oid: randomUUID(), name: "Dave NoEdov",
      preferred_username: "dave@contoso.example", email: "dave@contoso.example" });
    this.addUser({ id: "carol", tid: TENANTS.consumers, oid: randomUUID(), name: "Carol Outlook",
      preferred_username: "carol@outlook.example", email: "carol@outlook.example" });

    const T = "([^/]+)";
    this.route("GET", new RegExp(`^/${T}/v2\\.0/\\.well-known/openid-configuration$`), (req, res, m) => this.discovery(res, m[1]));
    this.route("GET", new RegExp(`^/${T}/discovery/v2\\.0/keys$`), (req, res) => { this.keys.fetches++; sendJson(res, 200, this.jwks()); });
    this.route("GET|POST", new RegExp(`^/${T}/oauth2/v2\\.0/authorize$`), (req, res, m, e) => this.authorize(req, res, m[1], e));
    this.route("POST", new RegExp(`^/${T}/oauth2/v2\\.0/token$`), (req, res, m, e) => this.token(req, res, m[1], e));
  }

  /** The options of `oauth.add_sign_in_provider('microsoft', …)` for this stand-in. */
  providerOptions(extra = {}) {
    return { kind: "microsoft", client_id: this.clientId, client_secret: this.clientSecret,
      authority: this.base, tenant: "common", ...extra };
  }

  issuerOf(tid) {
    return `${this.base}/${tid}/v2.0`;
  }

  /** Entra's JWKS members carry the issuer template too. */
  jwks() {
    return { keys: this.keys.keys.map((k) => ({ ...k.jwk, x5t: k.jwk.kid, cloud_instance_name: "microsoftonline.com",
      issuer: `${this.base}/{tenantid}/v2.0` })) };
  }

  tenantKnown(tenant) {
    return ["common", "organizations", "consumers"].includes(tenant) || Object.values(TENANTS).includes(tenant);
  }

  discovery(res, tenant) {
    if (!this.tenantKnown(tenant)) {
      return sendJson(res, 400, { error: "invalid_tenant", error_description: `AADSTS90002: Tenant '${tenant}' not found.`,
        error_codes: [90002] });
    }
    const b = this.base;
    const multi = ["common", "organizations", "consumers"].includes(tenant);
    sendJson(res, 200, {
      token_endpoint: `${b}/${tenant}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${b}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: multi ? `${b}/{tenantid}/v2.0` : `${b}/${tenant}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo",
      authorization_endpoint: `${b}/${tenant}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${b}/${tenant}/oauth2/v2.0/devicecode`,
      http_logout_supported: true, frontchannel_logout_supported: true,
      end_session_endpoint: `${b}/${tenant}/oauth2/v2.0/logout`,
      claims_supported: ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
        "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver",
        "at_hash", "c_hash", "email"],
      kerberos_endpoint: `${b}/${tenant}/kerberos`,
      tenant_region_scope: null, cloud_instance_name: "microsoftonline.com",
      cloud_graph_host_name: "graph.windows.net", msgraph_host: "graph.microsoft.com", rbac_url: "https://pas.windows.net",
    });
  }

  usersFor(tenant) {
    return [...this.users.values()].filter((u) => tenant === "common" || u.tid === tenant ||
      (tenant === "organizations" && u.tid !== TENANTS.consumers) || (tenant === "consumers" && u.tid === TENANTS.consumers));
  }

  authorize(req, res, tenant, e) {
    const q = { ...e.query, ...(req.method === "POST" ? e.form : {}) };
    const page = (code, why) => sendHtml(res, 400, `<h1>Sign in</h1><p id="error">AADSTS${code}: ${esc(why)}</p>`);
    if (!this.tenantKnown(tenant)) return page(90002, `Tenant '${tenant}' not found.`);
    if (Object.values(q).some(Array.isArray)) return page(90015, "Requested query string is too long or repeated.");
    if (q.client_id !== this.clientId) {
      return page(700016, `Application with identifier '${q.client_id}' was not found in the directory.`);
    }
    if (!q.redirect_uri || !this.redirectUris.has(q.redirect_uri)) {
      return page(50011, `The redirect URI '${q.redirect_uri}' specified in the request does not match the redirect URIs configured for the application '${this.clientId}'.`);
    }
    const redirectError = (error, description) => this.respond(res, { query: q }, { error, error_description: description, state: q.state });
    if (q.response_type !== "code") return redirectError("unsupported_response_type", "AADSTS70005: response_type is not supported.");
    if (q.response_mode && !["query", "fragment", "form_post"].includes(q.response_mode)) {
      return redirectError("invalid_request", "AADSTS900144: response_mode is invalid.");
    }
    if (q.code_challenge && !["S256", "plain", undefined].includes(q.code_challenge_method)) {
      return redirectError("invalid_request", "AADSTS501491: Invalid code_challenge_method.");
    }
    const scopes = (q.scope ?? "").split(" ").filter(Boolean);
    if (!scopes.length) return redirectError("invalid_request", "AADSTS900144: The request body must contain the following parameter: 'scope'.");
    this.loginPage(res, { query: q, tenant, scopes }, this.usersFor(tenant));
  }

  cancelled(request) {
    return { error: "access_denied", error_description: "AADSTS65004: User declined to consent to access the app.",
      state: request.query.state };
  }

  authorizationResponse(request, user, code) {
    return { code, state: request.query.state, session_state: randomUUID() };
  }

  pairwiseSub(user) {
    return sha256url(`${user.oid}|${this.clientId}`).slice(0, 43);
  }

  async token(req, res, tenant, e) {
    const forced = this.takeTokenFault();
    if (forced) return sendJson(res, forced.status ?? 400, forced.body);
    const f = e.form ?? {};
    const err = (status, error, code, description) => sendJson(res, status, {
      error, error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code], timestamp: new Date().toISOString().replace("T", " ").slice(0, 19) + "Z",
      trace_id: randomUUID(), correlation_id: randomUUID() });
    if (!e.form) return err(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.");
    if (Object.values(f).some(Array.isArray)) return err(400, "invalid_request", 90015, "Repeated parameter.");
    const basic = basicCredentials(req.headers.authorization);
    if (basic && f.client_secret) return err(401, "invalid_request", 50126, "Only one client authentication method may be used.");
    const clientId = basic?.id ?? f.client_id;
    const secret = basic?.secret ?? f.client_secret;
    if (clientId !== this.clientId) return err(400, "unauthorized_client", 700016, `Application with identifier '${clientId}' was not found in the directory.`);
    if (secret !== this.clientSecret) return err(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.");
    if (f.grant_type !== "authorization_code") return err(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
    if (!f.code) return err(400, "invalid_request", 900144, "The request body must contain the following parameter: 'code'.");
    const entry = this.codes.get(f.code);
    if (entry && entry.request.tenant !== tenant && tenant !== "common" && entry.request.tenant !== "common") {
      return err(400, "invalid_grant", 50148, "The code was issued for another tenant.");
    }
    const r = this.redeem(f.code, { clientId, redirectUri: f.redirect_uri, verifier: f.code_verifier });
    if (!r.ok) {
      const pk = r.why.startsWith("code_verifier");
      return err(400, "invalid_grant", pk ? 501481 : 70008, pk ? "The Code_Verifier does not match the code_challenge supplied in the authorization request."
        : `The provided authorization code or refresh token has expired due to inactivity (${r.why}).`);
    }
    const { user, request } = r.entry;
    const q = request.query;
    const accessToken = `eyJ0eXAiOiJKV1QiLCJub25jZSI6I.${rand(64)}.${rand(32)}`; // opaque to the client (a Graph token)
    const t = now();
    const claims = { ver: "2.0", iss: this.issuerOf(user.tid), sub: this.pairwiseSub(user), aud: this.clientId,
      exp: t + 3600, iat: t, nbf: t, name: user.name, preferred_username: user.preferred_username,
      oid: user.oid, tid: user.tid, aio: rand(40), rh: `1.${rand(30)}.`, uti: rand(16) };
    if (q.nonce !== undefined) claims.nonce = q.nonce;
    if (request.scopes.includes("email") && user.email) claims.email = user.email;
    if (user.xms_edov !== undefined && claims.email) claims.xms_edov = user.xms_edov;
    claims.at_hash = halfHash(accessToken);
    const scope = request.scopes.filter((s) => s !== "offline_access").join(" ") + " https://graph.microsoft.com/User.Read";
    const body = { token_type: "Bearer", scope, expires_in: 3599, ext_expires_in: 3599, access_token: accessToken,
      id_token: await this.idToken(claims, { header: { typ: "JWT" } }) };
    if (request.scopes.includes("offline_access")) body.refresh_token = `0.A${rand(60)}`;
    sendJson(res, 200, body);
  }
}

// ============================================================================================
// WorkOS SSO: https://workos.com/docs/reference/sso
// ============================================================================================

/** WorkOS SSO: `/sso/authorize` with exactly one of connection, organization or provider;
 * `/sso/token` (the API key is the client secret) answers an access token and the profile;
 * `/sso/profile` answers the profile for that access token. No ID token. */
export class WorkOSStandIn extends Upstream {
  constructor({ clientId = `client_01H${rand(10).toUpperCase().replace(/[^A-Z0-9]/g, "X")}`,
                apiKey = `sk_test_${rand(24)}` } = {}) {
    super("WorkOS");
    this.clientId = clientId;
    this.apiKey = apiKey;
    this.redirectUris = new Set();
    this.connections = {
      conn_01HOKTA: { type: "OktaSAML", organization_id: "org_01HACME" },
      conn_01HENTRA: { type: "AzureSAML", organization_id: "org_01HGLOBEX" },
      conn_01HGOOGLE: { type: "GoogleOAuth", organization_id: null },
    };
    this.addUser({ id: "alice", profile_id: "prof_01HALICE", connection_id: "conn_01HOKTA", email: "alice@acme.example",
      first_name: "Alice", last_name: "Acme", idp_id: "00u1a0ufowBJlzPlk357" });
    this.addUser({ id: "erin", profile_id: "prof_01HERIN", connection_id: "conn_01HOKTA", email: "erin@acme.example",
      first_name: "Erin", last_name: "Acme", idp_id: "00u1a0ufowBJlzPlk358" });
    this.addUser({ id: "eve", profile_id: "prof_01HEVE", connection_id: "conn_01HENTRA", email: "eve@globex.example",
      first_name: "Eve", last_name: "Globex", idp_id: "5d3c1a2b-7e4f-4a6b-9c8d-0e1f2a3b4c5d" });
    this.addUser({ id: "gail", profile_id: "prof_01HGAIL", connection_id: "conn_01HGOOGLE", email: "gail@gmail.example",
      first_name: "Gail", last_name: "Google", idp_id: "108223344556677889900" });
    this.route("GET", /^\/sso\/authorize$/, (req, res, m, e) => this.authorize(req, res, e));
    this.route("POST", /^\/sso\/token$/, (req, res, m, e) => this.token(req, res, e));
    this.route("GET", /^\/sso\/profile$/, (req, res) => this.profileEndpoint(req, res));
  }

  /** The options of `oauth.add_sign_in_provider('workos', …)` for this stand-in. */
  providerOptions(extra = {}) {
    return { kind: "workos", client_id: this.clientId, client_secret: this.apiKey, api_base: this.base,
      connection: "conn_01HOKTA", ...extra };
  }

  /** Members merged into every profile answered until `behave()` (a test hook). */
  overrideProfiles(members) {
    this.profileOverrides = members;
  }

  profile(user) {
    const conn = this.connections[user.connection_id];
    return { ...this.#profile(user, conn), ...(this.profileOverrides ?? {}) };
  }

  #profile(user, conn) {
    return { object: "profile", id: user.profile_id, organization_id: conn.organization_id,
      connection_id: user.connection_id, connection_type: conn.type, idp_id: user.idp_id, email: user.email,
      first_name: user.first_name, last_name: user.last_name, role: { slug: "member" }, groups: [],
      custom_attributes: {}, raw_attributes: {} };
  }

  authorize(req, res, e) {
    const q = e.query;
    const fail = (status, message) => sendJson(res, status, { message, error: "invalid_request" });
    if (Object.values(q).some(Array.isArray)) return fail(422, "Repeated parameter.");
    if (q.client_id !== this.clientId) return fail(404, `Invalid client ID '${q.client_id}'.`);
    if (!q.redirect_uri || !this.redirectUris.has(q.redirect_uri)) {
      return fail(422, `The provided 'redirect_uri' is not valid. It must be one of the redirect URIs configured in the WorkOS dashboard.`);
    }
    if (q.response_type !== "code") return fail(422, "response_type must be 'code'.");
    const selectors = ["connection", "organization", "provider"].filter((k) => q[k] !== undefined);
    if (selectors.length !== 1) return fail(422, "Exactly one of 'connection', 'organization' or 'provider' is required.");
    let users = [...this.users.values()];
    if (q.connection) {
      if (!this.connections[q.connection]) return fail(404, `Connection '${q.connection}' not found.`);
      users = users.filter((u) => u.connection_id === q.connection);
    } else if (q.organization) {
      users = users.filter((u) => this.connections[u.connection_id].organization_id === q.organization);
      if (!users.length) return fail(404, `Organization '${q.organization}' has no active connection.`);
    } else {
      if (!["GoogleOAuth", "MicrosoftOAuth", "GitHubOAuth", "AppleOAuth", "authkit"].includes(q.provider)) {
        return fail(422, `Invalid provider '${q.provider}'.`);
      }
      users = users.filter((u) => this.connections[u.connection_id].type === q.provider);
    }
    this.loginPage(res, { query: q }, users);
  }

  authorizationResponse(request, user, code) {
    return { code, state: request.query.state };
  }

  cancelled(request) {
    return { error: "access_denied", error_description: "The user denied the request.", state: request.query.state };
  }

  async token(req, res, e) {
    const forced = this.takeTokenFault();
    if (forced) return sendJson(res, forced.status ?? 400, forced.body);
    const f = e.form ?? (e.json && typeof e.json === "object" ? e.json : null);
    if (!f) return sendJson(res, 400, { error: "invalid_request", error_description: "Invalid request body." });
    if (f.client_id !== this.clientId) return sendJson(res, 400, { error: "invalid_client", error_description: "Invalid client ID." });
    if (f.client_secret !== this.apiKey) return sendJson(res, 401, { error: "invalid_client", error_description: "Invalid client secret." });
    if (f.grant_type !== "authorization_code") {
      return sendJson(res, 400, { error: "unsupported_grant_type", error_description: "grant_type must be 'authorization_code'." });
    }
    const r = this.redeem(f.code, { clientId: f.client_id, redirectUri: f.redirect_uri, verifier: f.code_verifier, requireRedirect: false });
    if (!r.ok) return sendJson(res, 400, { error: "invalid_grant", error_description: `The code '${f.code}' has expired or is invalid.` });
    const { user } = r.entry;
    const accessToken = this.newAccessToken(user, null, f.client_id, "01H");
    sendJson(res, 200, { access_token: accessToken, token_type: "Bearer", expires_in: 600, profile: this.profile(user) });
  }

  profileEndpoint(req, res) {
    const token = bearerOf(req.headers.authorization);
    const t = token && this.accessTokens.get(token);
    if (!t) return sendJson(res, 401, { message: "Unauthorized" });
    sendJson(res, 200, this.profile(t.user));
  }
}

// ============================================================================================
// GitHub OAuth app: https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
// ============================================================================================

/** A GitHub OAuth app: web flow at `web_base` (`/login/oauth/authorize`,
 * `/login/oauth/access_token`, JSON only with `Accept: application/json`, errors as HTTP 200
 * with `error`), the REST API at `api_base` (`/user`, `/user/emails`; a User-Agent required,
 * as GitHub does). The callback URL is the app's registered one; a redirect_uri must share its
 * host and port and lie under its path. */
export class GitHubStandIn extends Upstream {
  constructor({ clientId = `Ov23li${hex(7)}`, clientSecret = hex(20) } = {}) {
    super("GitHub");
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this.callbackUrl = null; // the OAuth app's "Authorization callback URL"
    this.addUser({ id: "octocat", login: "octocat", number: 12345, name: "The Octocat", email: "octocat@github.example",
      emails: [{ email: "octocat@github.example", primary: true, verified: true, visibility: "public" },
        { email: "12345+octocat@users.noreply.github.com", primary: false, verified: true, visibility: null }] });
    this.addUser({ id: "mona", login: "mona", number: 23456, name: "Mona Lisa", email: null,
      emails: [{ email: "mona@private.example", primary: true, verified: true, visibility: "private" },
        { email: "23456+mona@users.noreply.github.com", primary: false, verified: true, visibility: null }] });
    this.addUser({ id: "ursula", login: "ursula-unverified", number: 34567, name: null, email: null,
      emails: [{ email: "ursula@example.com", primary: true, verified: false, visibility: "private" },
        { email: "34567+ursula-unverified@users.noreply.github.com", primary: false, verified: true, visibility: null }] });
    this.route("GET", /^\/login\/oauth\/authorize$/, (req, res, m, e) => this.authorize(req, res, e));
    this.route("POST", /^\/login\/oauth\/access_token$/, (req, res, m, e) => this.accessToken(req, res, e));
    this.route("GET", /^\/user$/, (req, res) => this.api(req, res, (t) => this.userJson(t.user)));
    this.route("GET", /^\/user\/emails$/, (req, res) => this.api(req, res, (t) => {
      if (!/(^|,)(user:email|user)(,|$)/.test(t.scope)) return null;
      return t.user.emails.map((x) => ({ ...x }));
    }, "user:email"));
  }

  /** The options of `oauth.add_sign_in_provider('github', …)` for this stand-in. */
  providerOptions(extra = {}) {
    return { kind: "github", client_id: this.clientId, client_secret: this.clientSecret,
      web_base: this.base, api_base: this.base, ...extra };
  }

  userJson(u) {
    return { login: u.login, id: u.number, node_id: Buffer.from(`04:User${u.number}`).toString("base64"),
      avatar_url: `https://avatars.githubusercontent.com/u/${u.number}?v=4`, gravatar_id: "",
      url: `https://api.github.com/users/${u.login}`, html_url: `https://github.com/${u.login}`, type: "User",
      site_admin: false, name: u.name, company: null, blog: "", location: null, email: u.email, hireable: null,
      bio: null, twitter_username: null, notification_email: u.email, public_repos: 8, public_gists: 0,
      followers: 20, following: 0, created_at: "2011-01-25T18:44:36Z", updated_at: "2026-11-01T10:00:00Z" };
  }

  redirectAllowed(uri) {
    try {
      const cb = new URL(this.callbackUrl);
      const u = new URL(uri);
      const base = cb.pathname.endsWith("/") ? cb.pathname : `${cb.pathname}/`;
      return u.protocol === cb.protocol && u.host === cb.host && (u.pathname === cb.pathname || u.pathname.startsWith(base)) &&
        !u.pathname.split("/").includes("..");
    } catch {
      return false;
    }
  }

  authorize(req, res, e) {
    const q = { ...e.query };
    if (q.client_id !== this.clientId) return sendHtml(res, 404, "<h1>404</h1><p id=\"error\">Not Found (unknown client_id)</p>");
    const redirectUri = q.redirect_uri ?? this.callbackUrl;
    if (!this.redirectAllowed(redirectUri)) {
      // GitHub sends redirect_uri_mismatch to the app's registered callback URL.
      q.redirect_uri = this.callbackUrl;
      return this.respond(res, { query: q }, { error: "redirect_uri_mismatch",
        error_description: "The redirect_uri is not associated with this application.",
        error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch",
        state: q.state });
    }
    q.redirect_uri = redirectUri;
    q.response_mode = "query";
    if (q.code_challenge && (q.code_challenge_method ?? "plain") !== "S256") {
      return sendHtml(res, 400, "<h1>Bad request</h1><p id=\"error\">code_challenge_method must be S256</p>");
    }
    this.loginPage(res, { query: q, scope: (q.scope ?? "").split(/[ ,]+/).filter(Boolean) }, [...this.users.values()]);
  }

  newCode() {
    return hex(10);
  }

  authorizationResponse(request, user, code) {
    return { code, state: request.query.state };
  }

  cancelled(request) {
    return { error: "access_denied", error_description: "The user has denied your application access.",
      error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
      state: request.query.state };
  }

  accessToken(req, res, e) {
    const p = { ...e.query, ...(e.form ?? (e.json && typeof e.json === "object" ? e.json : {})) };
    const wantsJson = /application\/json/i.test(req.headers.accept ?? "");
    const answer = (body) => {
      if (wantsJson) return sendJson(res, 200, body, { "cache-control": "private, max-age=60, s-maxage=60" });
      res.writeHead(200, { "content-type": "application/x-www-form-urlencoded; charset=utf-8" })
        .end(new URLSearchParams(body).toString());
    };
    const forced = this.takeTokenFault();
    if (forced) return answer(forced.body);
    const basic = basicCredentials(req.headers.authorization);
    const clientId = p.client_id ?? basic?.id;
    const secret = p.client_secret ?? basic?.secret;
    if (clientId !== this.clientId || secret !== this.clientSecret) {
      return answer({ error: "incorrect_client_credentials", error_description: "The client_id and/or client_secret passed are incorrect.",
        error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials" });
    }
    const entry = this.codes.get(p.code);
    if (entry && p.redirect_uri !== undefined && p.redirect_uri !== entry.request.query.redirect_uri) {
      return answer({ error: "redirect_uri_mismatch", error_description: "The redirect_uri MUST match the registered callback URL for this application.",
        error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#redirect-uri-mismatch2" });
    }
    const r = this.redeem(p.code, { clientId, redirectUri: p.redirect_uri, verifier: p.code_verifier, requireRedirect: false });
    if (!r.ok) {
      return answer({ error: "bad_verification_code", error_description: "The code passed is incorrect or expired.",
        error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code" });
    }
    const { user, request } = r.entry;
    const known = ["read:user", "user:email", "user", "repo", "public_repo"];
    const scope = request.scope.filter((s) => known.includes(s)).join(",");
    const token = this.newAccessToken(user, scope, clientId, "gho_");
    answer({ access_token: token, token_type: "bearer", scope });
  }

  api(req, res, produce, needed = null) {
    if (!req.headers["user-agent"]) {
      res.writeHead(403, { "content-type": "text/html; charset=utf-8" }).end(
        "Request forbidden by administrative rules. Please make sure your request has a User-Agent header " +
        "(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n");
      return;
    }
    const auth = req.headers.authorization;
    const token = bearerOf(auth);
    if (!auth) return sendJson(res, 401, { message: "Requires authentication", documentation_url: "https://docs.github.com/rest", status: "401" });
    const t = token && this.accessTokens.get(token);
    if (!t) return sendJson(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" });
    const headers = { "x-oauth-scopes": t.scope.split(",").filter(Boolean).join(", "), "x-accepted-oauth-scopes": needed ?? "",
      "x-github-media-type": "github.v3; format=json", "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999" };
    const body = produce(t);
    if (body === null) {
      return sendJson(res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user",
        status: "404" }, headers);
    }
    sendJson(res, 200, body, { ...headers, "content-type": "application/json; charset=utf-8" });
  }
}

// ============================================================================================
// A real certified OpenID Provider: panva's oidc-provider with its development interactions
// ============================================================================================

/** Starts oidc-provider on a random loopback port with one client (client_secret_basic,
 * `redirectUri`, PKCE required, scopes openid email profile) and its development login and
 * consent pages (any login, any password: the login becomes the account id). Accounts in
 * `accounts` have the claims given; any other login gets `<login>@op.example`, verified.
 * Scope claims go into the ID token (conformIdTokenClaims off), as Google and most hosted OPs
 * do. Returns {issuer, clientId, clientSecret, received, provider, stop()}. */
export async function startOidcProvider({ redirectUri, clientId = "e2e-signin", clientSecret = rand(24), accounts = {} }) {
  const { default: Provider } = await import("oidc-provider");
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: "jwk" }), kid: `op-${rand(6)}`, alg: "RS256", use: "sig" };
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
      grant_types: ["authorization_code"], response_types: ["code"], token_endpoint_auth_method: "client_secret_basic" }],
    jwks: { keys: [jwk] },
    pkce: { required: () => true },
    cookies: { keys: [rand(32)] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "given_name", "family_name"] },
    conformIdTokenClaims: false,
    findAccount: async (ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, email: `${sub}@op.example`, email_verified: true, name: `${sub} (op)`, ...(accounts[sub] ?? {}) }),
    }),
    features: { devInteractions: { enabled: true } },
    ttl: { AccessToken: 3600, IdToken: 3600, AuthorizationCode: 600, Grant: 3600, Session: 3600, Interaction: 600 },
  });
  provider.on("server_error", (ctx, err) => console.error("oidc-provider server_error", err));
  const received = [];
  const app = provider.callback();
  server.on("request", (req, res) => {
    const url = new URL(req.url, issuer);
    received.push({ method: req.method, path: url.pathname, query: paramsOf(url.search), headers: { ...req.headers }, at: Date.now() });
    app(req, res);
  });
  return {
    issuer, clientId, clientSecret, received, provider,
    requests: (path) => received.filter((e) => e.path === path),
    providerOptions: (extra = {}) => ({ kind: "oidc", client_id: clientId, client_secret: clientSecret, issuer, ...extra }),
    stop() {
      server.close();
      server.closeAllConnections?.();
    },
  };
}

/** Plays the user at oidc-provider's development interactions over plain HTTP: sign in as
 * `login`, approve; returns the URL the OP redirects the browser to (the redirect URI with
 * code, state and iss). */
export async function opLogin(authorizeUrl, { login = "alice" } = {}) {
  const jar = new Map();
  const go = async (url, init = {}) => {
    const res = await fetch(url, { ...init, redirect: "manual",
      headers: { ...(init.headers ?? {}), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(c) || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
  let res = await go(authorizeUrl);
  const origin = new URL(authorizeUrl).origin;
  for (let i = 0; i < 10; i++) {
    if (res.status === 303 || res.status === 302) {
      const next = new URL(res.headers.get("location"), origin);
      if (next.origin !== origin) return next.toString();
      res = await go(next);
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"[^>]*method="post"/.exec(html)?.[1];
    if (res.status !== 200 || !action) throw new Error(`oidc-provider: ${res.status} ${html.slice(0, 500)}`);
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    const form = prompt === "login" ? { prompt, login, password: "any" } : { prompt };
    res = await go(new URL(action, origin), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString() });
  }
  throw new Error("oidc-provider: too many steps");
}
