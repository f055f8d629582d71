// The tables of scripts/bench-http.sh, in markdown, from the results it collected.
//   node report.js check PASS JSON   checks one load.js result (no error answer, some operations)
//                                    and prints it as a results line, tagged with its pass
//   node report.js tables FILE SETTING   the tables, from the results lines in FILE; SETTING
//                                        ("8 clients, durable") heads each table
import { readFileSync } from "node:fs";

const [cmd, ...args] = process.argv.slice(2);

if (cmd === "check") {
  const [pass, json] = args;
  const r = JSON.parse(json);
  if (r.errors || !r.ops) {
    console.error(`${r.target} ${r.mode} (${pass}): ${r.errors} errors, ${r.ops} operations; first errors:\n  ${r.first_errors.join("\n  ")}`);
    process.exit(1);
  }
  console.log(JSON.stringify({ pass, ...r }));
  process.exit(0);
}

const [file, setting] = args;
const rows = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const LABEL = {
  fresh: "new-user flow",
  flow: "returning-user flow",
  refresh: "refresh",
  client_credentials: "client_credentials",
  introspect: "introspection (ours: its JWT access token; oidc-provider: its refresh token, it refuses JWTs)",
  introspect_refresh: "introspection of a refresh token, both",
};
const ms = (x) => x.toFixed(3);
const find = (pass, target, mode) => rows.find((r) => r.pass === pass && r.target === target && r.mode === mode);
// Server CPU per operation: ours is the front and the backends serving it; the WAL writer,
// checkpointer and the rest of the cluster are reported beside it, not in it.
function perOp(r) {
  const c = r.server_cpu_ms;
  return r.target === "ours"
    ? { ours: (c.front + c.backends) / r.ops, front: c.front / r.ops, wal: c.wal_ckpt / r.ops, rest: c.rest / r.ops }
    : { theirs: c.server / r.ops };
}

function pairs(pass) {
  return Object.keys(LABEL).map((mode) => [mode, find(pass, "ours", mode), find(pass, "oidc-provider", mode)])
    .filter(([, o, t]) => o && t);
}

function unpinned(pass) {
  console.log(`\n| server CPU per operation (ms), ${setting}, ${pass} | ours (front + backends) | of which front | WAL writer + checkpointer | rest of cluster | oidc-provider | ours uses | ours/s | oidc-provider/s | load generator ms/op (ours, theirs) |`);
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const [mode, o, t] of pairs(pass)) {
    const a = perOp(o), b = perOp(t);
    console.log(`| ${LABEL[mode]} | ${ms(a.ours)} | ${ms(a.front)} | ${ms(a.wal)} | ${ms(a.rest)} | ${ms(b.theirs)} | ${(a.ours / b.theirs).toFixed(2)}x as much | ${o.per_second} | ${t.per_second} | ${o.load_cpu_ms}, ${t.load_cpu_ms} |`);
  }
}

function pinned(pass) {
  console.log(`\n| pinned (servers on core 0, load generator on core 1), ${setting} | ours/s | oidc-provider/s | ours runs | ours ms/op (front + backends) | WAL writer + checkpointer | oidc-provider ms/op | ours uses | load generator ms/op (ours, theirs) |`);
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const [mode, o, t] of pairs(pass)) {
    const a = perOp(o), b = perOp(t);
    console.log(`| ${LABEL[mode]} | ${o.per_second} | ${t.per_second} | ${(o.per_second / t.per_second).toFixed(2)}x | ${ms(a.ours)} | ${ms(a.wal)} | ${ms(b.theirs)} | ${(a.ours / b.theirs).toFixed(2)}x as much | ${o.load_cpu_ms}, ${t.load_cpu_ms} |`);
  }
}

if (rows.some((r) => r.pass === "unpinned")) unpinned("unpinned");
if (rows.some((r) => r.pass === "pinned")) pinned("pinned");
const sql = rows.find((r) => r.pass === "sql");
if (sql) {
  const http = find(sql.measured_with, "ours", "refresh");
  const c = http.server_cpu_ms;
  const cluster = (c.backends + c.wal_ckpt + c.rest) / http.ops;
  console.log(`\n| refresh grants, ${setting}, ${sql.measured_with} | direct SQL (pgbench, prepared) | through oauth-front | front keeps |`);
  console.log("|---|---|---|---|");
  console.log(`| oauth.refresh/s (cluster CPU per refresh) | ${sql.per_second} (${ms(sql.cluster_cpu_ms)} ms) | ${http.per_second} (${ms(cluster)} ms, + ${ms(c.front / http.ops)} ms in the front) | ${Math.round((100 * http.per_second) / sql.per_second)}% |`);
}
