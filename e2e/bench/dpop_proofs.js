// Prints DPoP proofs for the SQL benchmark (scripts/bench.sh): for each of CHAINS chains its own
// ES256 key, and PER_CHAIN + 1 proofs by it (seq 0 for the code exchange, then one per
// refresh), each with its own jti, all for POST HTU, dated now. One "chain\tseq\tproof" line
// each, for psql's \copy. Usage: node dpop_proofs.js HTU CHAINS PER_CHAIN
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { randomBytes } from "node:crypto";

const [htu, chains, perChain] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const iat = Math.floor(Date.now() / 1000);
const lines = [];
for (let chain = 0; chain < chains; chain++) {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = await exportJWK(publicKey);
  for (let seq = 0; seq <= perChain; seq++) {
    const proof = await new SignJWT({ htm: "POST", htu, iat, jti: randomBytes(16).toString("base64url") })
      .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk })
      .sign(privateKey);
    lines.push(`${chain}\t${seq}\t${proof}`);
  }
}
process.stdout.write(lines.join("\n") + "\n");
