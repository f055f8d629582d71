// oidc-provider (panva's certified Node.js OpenID Provider) configured like our bench setup:
// ES256 signing, PKCE S256 required, a confidential client_secret_basic client, refresh token
// rotation, JWT access tokens for a resource (client_credentials ones too: defaultResource
// names it when the request names none), an ID token per grant, introspection. Its interaction
// (login + consent) is answered by this file at once: a browser without a session signs in as
// a new account and approves; a returning one has its grant already, as our consent page
// auto-approves a returning user. Storage: oidc-provider's in-memory adapter.
import { createServer } from "node:http";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import Provider from "oidc-provider";

const port = Number(process.env.PORT ?? 18091);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const jwk = { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "ES256", use: "sig" };
const RESOURCE = "https://api.example";

const provider = new Provider(issuer, {
  clients: [{
    client_id: "bench", client_secret: process.env.CLIENT_SECRET ?? "bench-secret",
    redirect_uris: ["http://127.0.0.1/callback"], grant_types: ["authorization_code", "refresh_token", "client_credentials"],
    response_types: ["code"], token_endpoint_auth_method: "client_secret_basic",
    id_token_signed_response_alg: "ES256",
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  cookies: { keys: ["bench-cookie-key"] },
  claims: { openid: ["sub"], email: ["email", "email_verified"] },
  scopes: ["openid", "email"],
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.com`, email_verified: true }),
  }),
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    // Introspects opaque tokens only: a JWT access token is answered 400 unsupported_token_type
    // ("Structured JWT Tokens cannot be introspected"), so the benchmark introspects its
    // refresh token (e2e/bench/load.js).
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "api:read", audience: RESOURCE, accessTokenFormat: "jwt", jwt: { sign: { alg: "ES256" } },
      }),
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  issueRefreshToken: async () => true,
  rotateRefreshToken: true,
  ttl: { AccessToken: 3600, ClientCredentials: 3600, IdToken: 3600, AuthorizationCode: 600, RefreshToken: 30 * 86400,
    Grant: 30 * 86400, Session: 86400, Interaction: 600 },
});
provider.proxy = false;

const app = provider.callback();
createServer(async (req, res) => {
  if (req.url.startsWith("/interaction/")) {
    try {
      const details = await provider.interactionDetails(req, res);
      if (process.env.DEBUG) console.log(JSON.stringify(details.prompt), details.grantId);
      // A browser without a session is a new user signing in (the fresh-flow benchmark).
      const accountId = details.session?.accountId ?? `user-${randomUUID()}`;
      const grant = details.grantId ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: details.params.client_id });
      grant.addOIDCScope("openid email");
      grant.addResourceScope(RESOURCE, "api:read");
      const grantId = await grant.save();
      await provider.interactionFinished(req, res,
        { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
    } catch (e) {
      res.statusCode = 500;
      res.end(String(e));
    }
    return;
  }
  app(req, res);
}).listen(port, "127.0.0.1", () => console.log(`oidc-provider listening on ${issuer}`));
