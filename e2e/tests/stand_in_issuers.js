// Stand-in session issuers on loopback: each serves its keys (and, like the real provider,
// an OpenID Connect discovery document or not) over real HTTP, and signs tokens shaped like
// the provider's. Key sets are separate objects so that several issuers can share one, as
// every Firebase project shares Google's securetoken keys.
import http from "node:http";
import { SignJWT, exportJWK, generateKeyPair, base64url } from "jose";

export class KeySet {
  constructor(path, alg = "RS256") {
    this.path = path;
    this.alg = alg;
    this.keys = []; // {kid, privateKey, jwk}, the first one signs
    this.fetches = 0;
  }

  async addKey() {
    const { privateKey, publicKey } = await generateKeyPair(this.alg, { extractable: true });
    const kid = base64url.encode(crypto.getRandomValues(new Uint8Array(12)));
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: this.alg, use: "sig" };
    this.keys.unshift({ kid, privateKey, jwk });
    return kid;
  }

  /** A key rotation: a new signing key; the old ones retired unless `keepOld`. */
  async rotate({ keepOld = false } = {}) {
    const kid = await this.addKey();
    if (!keepOld) this.keys = this.keys.slice(0, 1);
    return kid;
  }

  jwks() {
    return { keys: this.keys.map((k) => k.jwk) };
  }
}

export class Issuer {
  constructor(server, path, keySet, { discovery = true } = {}) {
    this.issuer = `${server.base}${path}`;
    this.keySet = keySet;
    this.jwksUri = `${server.base}${keySet.path}`;
    if (discovery) {
      server.routes.set(`${path}/.well-known/openid-configuration`, () => ({
        issuer: this.issuer,
        jwks_uri: this.jwksUri,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: [keySet.alg],
      }));
    }
  }

  /** A token of `claims` signed with the current key (or with `key`, e.g. a retired one). */
  async token(claims, { key = this.keySet.keys[0], header = {} } = {}) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: this.issuer, iat: now, exp: now + 300, ...claims })
      .setProtectedHeader({ alg: this.keySet.alg, typ: "JWT", kid: key.kid, ...header })
      .sign(key.privateKey);
  }
}

export class StandInServer {
  constructor() {
    this.routes = new Map(); // path -> () => JSON body
    this.keySets = new Map();
  }

  async start() {
    this.server = http.createServer((req, res) => {
      const path = new URL(req.url, "http://x").pathname;
      const set = this.keySets.get(path);
      if (set) set.fetches++;
      const route = set ? () => set.jwks() : this.routes.get(path);
      if (!route) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(route()));
    });
    await new Promise((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async keySet(path, alg = "RS256") {
    const set = new KeySet(path, alg);
    await set.addKey();
    this.keySets.set(path, set);
    return set;
  }

  /** An issuer at `path` with its own keys at `jwksPath`, or with the shared `keySet`. */
  async issuer(path, { jwksPath = `${path}/.well-known/jwks.json`, keySet, discovery = true } = {}) {
    return new Issuer(this, path, keySet ?? (await this.keySet(jwksPath)), { discovery });
  }

  stop() {
    this.server.close();
    this.server.closeAllConnections?.();
  }
}
