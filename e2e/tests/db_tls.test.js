// TLS between the front and Postgres, against a real cluster of its own: a throwaway CA, a
// server certificate for 127.0.0.1 signed by it, `ssl = on`, and a pg_hba.conf that accepts
// TCP connections only over TLS (`hostssl`; `hostnossl … reject`). The front connects with
// libpq's `sslmode` / `sslrootcert`, in URL and key/value form; pg_stat_ssl shows that its
// backends are really encrypted; a wrong CA, a wrong host name and plain text are refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFront } from "./helpers.js";

const skip = !process.env.FRONT_BIN && "FRONT_BIN not set";
const here = dirname(fileURLToPath(import.meta.url));
const cluster = join(here, "../../scripts/cluster.sh");
const root = process.env.DB_TLS_DIR ?? join(process.env.TLS_CERT ? dirname(process.env.TLS_CERT) : "/tmp", "db-tls");
const dir = join(root, "cluster");
const port = process.env.DB_TLS_PGPORT ?? "55472";
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], ...opts });
const psql = (q) => sh("psql", ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", join(dir, "sock"), "-p", port,
  "-U", "postgres", "-d", "tls_e2e"], { input: q }).trim();
const ca = join(root, "ca.crt");
const otherCa = join(root, "other-ca.crt");

function openssl(...args) {
  sh("openssl", args);
}

/** A CA (cert + key) named `name` in root. */
function makeCa(name) {
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
    "-subj", `/CN=${name}`, "-keyout", join(root, `${name}.key`), "-out", join(root, `${name}.crt`));
}

before(async () => {
  if (skip) return;
  try { sh("bash", [cluster, "stop", dir]); } catch { /* not running */ }
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  makeCa("ca");
  makeCa("other-ca");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
    "-keyout", join(root, "server.key"), "-out", join(root, "server.csr"));
  writeFileSync(join(root, "server.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  openssl("x509", "-req", "-in", join(root, "server.csr"), "-CA", ca, "-CAkey", join(root, "ca.key"),
    "-CAcreateserial", "-days", "2", "-extfile", join(root, "server.ext"), "-out", join(root, "server.crt"));
  sh("bash", [cluster, "start", dir, port]);
  // The key must belong to the server's user and be private to it.
  const data = join(dir, "data");
  for (const f of ["server.crt", "server.key"]) sh("cp", [join(root, f), join(data, f)]);
  const owner = sh("stat", ["-c", "%U", data]).trim();
  sh("chown", [`${owner}:`, join(data, "server.crt"), join(data, "server.key")]);
  sh("chmod", ["600", join(data, "server.key")]);
  writeFileSync(join(data, "pg_hba.conf"), [
    "local all all trust",
    "hostssl all all 127.0.0.1/32 trust",
    "hostnossl all all 127.0.0.1/32 reject",
    "",
  ].join("\n"));
  sh("psql", ["-X", "-q", "-h", join(dir, "sock"), "-p", port, "-U", "postgres", "-d", "postgres"],
    { input: "ALTER SYSTEM SET ssl = on;\nCREATE DATABASE tls_e2e;\n" });
  sh("bash", [cluster, "restart", dir]);
  psql(`CREATE EXTENSION oauth_server;
        ALTER DATABASE tls_e2e SET oauth_server.issuer = 'http://127.0.0.1:1';`);
});

after(() => {
  if (skip) return;
  try { sh("bash", [cluster, "stop", dir]); } catch { /* already stopped */ }
});

const url = (query) => `postgres://postgres@127.0.0.1:${port}/tls_e2e?${query}`;

/** The front's answer for the JWKS (one SQL call), and its log. */
async function through(databaseUrl, flags = []) {
  const f = await startFront(flags, { DATABASE_URL: databaseUrl });
  try {
    const res = await fetch(`${f.base}/.well-known/jwks.json`);
    const body = await res.json();
    return { status: res.status, body, log: f.log() };
  } finally {
    f.stop();
  }
}

/** Whether every TCP backend of tls_e2e is encrypted, and how many there are. */
function backends() {
  return psql(`SELECT count(*) || ' ' || coalesce(bool_and(s.ssl), false) || ' ' || coalesce(min(s.version), '-')
               FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
               WHERE a.datname = 'tls_e2e' AND a.client_addr IS NOT NULL`);
}

test("the front reaches a TLS-only Postgres with sslmode=verify-full and the CA, and its backends are encrypted", { skip }, async () => {
  const f = await startFront([], { DATABASE_URL: url(`sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`) });
  try {
    const res = await fetch(`${f.base}/.well-known/jwks.json`);
    assert.equal(res.status, 200, f.log());
    assert.ok(Array.isArray((await res.json()).keys));
    const [count, ssl, version] = backends().split(" ");
    assert.ok(Number(count) >= 1, "the front holds a connection");
    assert.equal(ssl, "true", "pg_stat_ssl: the front's backends are encrypted");
    assert.match(version, /^TLSv1\.[23]$/);
  } finally {
    f.stop();
  }
  // libpq's key/value form, the CA from --db-ssl-root-cert.
  const kv = await through(`host=127.0.0.1 port=${port} user=postgres dbname=tls_e2e sslmode=verify-full`,
    ["--db-ssl-root-cert", ca]);
  assert.equal(kv.status, 200, kv.log);
});

test("a server certificate from another CA is refused, with the reason in the log", { skip }, async () => {
  const r = await through(url(`sslmode=verify-full&sslrootcert=${encodeURIComponent(otherCa)}`));
  assert.equal(r.status, 503);
  assert.equal(r.body.error, "temporarily_unavailable");
  assert.match(r.log, /UnknownIssuer|certificate/i);
  // verify-ca checks the chain too.
  assert.equal((await through(url(`sslmode=verify-ca&sslrootcert=${encodeURIComponent(otherCa)}`))).status, 503);
});

test("verify-full checks the host name; verify-ca and require do not", { skip }, async () => {
  const byName = (mode) => through(`postgres://postgres@localhost:${port}/tls_e2e?sslmode=${mode}&sslrootcert=${encodeURIComponent(ca)}`);
  const full = await byName("verify-full");
  assert.equal(full.status, 503, "the certificate is for 127.0.0.1, not localhost");
  assert.match(full.log, /NotValidForName|not valid for name/i);
  assert.equal((await byName("verify-ca")).status, 200);
  // require without a CA: encrypted, not verified (libpq's behaviour).
  const req = await through(url("sslmode=require"));
  assert.equal(req.status, 200, req.log);
});

test("plain text is refused by a hostssl-only server, and verify-full without a CA is refused at start-up", { skip }, async () => {
  const plain = await through(url("sslmode=disable"));
  assert.equal(plain.status, 503);
  assert.match(plain.log, /pg_hba\.conf rejects connection.*no encryption/);
  // A misconfiguration stops the front with a clear message instead of running unverified.
  let exited = "";
  try {
    await startFront([], { DATABASE_URL: url("sslmode=verify-full") });
  } catch (e) {
    exited = e.message;
  }
  assert.match(exited, /root certificate is needed/);
});
