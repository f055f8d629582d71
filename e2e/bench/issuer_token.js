// Prints a stand-in issuer for the session-verification benchmark: an RS256 key set (as
// Clerk, Firebase, Cognito and WorkOS use) and a Clerk-shaped session token valid for a day.
// Output: {"issuer", "jwks", "token"} as one JSON line.
import { SignJWT, exportJWK, generateKeyPair } from "jose";

const issuer = "https://clerk.bench.example";
const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
const jwk = { ...(await exportJWK(publicKey)), kid: "bench-key", alg: "RS256", use: "sig" };
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({
  azp: "https://app.bench.example", sid: "sess_bench", sub: "user_bench", v: 2,
  role: "authenticated", email: "bench@app.example", nbf: now - 5,
})
  .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: jwk.kid })
  .setIssuer(issuer).setIssuedAt(now).setExpirationTime(now + 86400)
  .sign(privateKey);
console.log(JSON.stringify({ issuer, jwks: { keys: [jwk] }, token }));
