// CPU time of the servers under test over the timed part of a benchmark phase, read from
// /proc/<pid>/stat (utime + stime, in clock ticks; CLK_TCK in the environment, default 100).
// cpuProbe(json) reads it once and returns a function that reads it again and answers the
// milliseconds spent in between, per group:
//   {"server": PID}  one process, all its threads (oidc-provider's node):      { server }
//   {"front": PID, "postmaster": PID, "backend": "USER DB"}  oauth-front and its cluster:
//     front        the front's process (all its threads)
//     backends     the client backends serving it: children of the postmaster whose command
//                  line is "postgres: USER DB …" (the front's pool keeps them open)
//     wal_ckpt     the WAL writer and the checkpointer (their work follows the commits)
//     rest         everything else in the cluster: the postmaster, background writer,
//                  autovacuum, and the children it reaped in between (its cutime + cstime)
// Every pid present at either reading counts; one that exited in between (an autovacuum
// worker) counts in `rest` through the postmaster's cutime, for its time after the first reading.
import { readFileSync, readdirSync } from "node:fs";

const TICK_MS = 1000 / Number(process.env.CLK_TCK ?? 100);

// Fields after the command name (which may hold spaces): 0 state, 1 ppid, 11 utime, 12 stime,
// 13 cutime, 14 cstime (proc(5), counted from field 3).
function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ").map(Number);
    return { ppid: f[1], own: f[11] + f[12], reaped: f[13] + f[14] };
  } catch {
    return null; // exited
  }
}

function group(cmdline, backend) {
  if (cmdline.startsWith(`postgres: ${backend} `)) return "backends";
  if (/^postgres: (walwriter|checkpointer)\b/.test(cmdline)) return "wal_ckpt";
  return "rest";
}

// Ticks per pid of the cluster's processes, each with its group.
function clusterReading(postmaster, backend) {
  const pm = stat(postmaster);
  if (!pm) throw new Error(`the postmaster ${postmaster} is not running`);
  const pids = new Map([[postmaster, { group: "rest", ticks: pm.own + pm.reaped }]]);
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = stat(name);
    if (st?.ppid !== postmaster) continue;
    let cmdline;
    try { cmdline = readFileSync(`/proc/${name}/cmdline`, "latin1").replace(/\0/g, " "); } catch { continue; }
    pids.set(Number(name), { group: group(cmdline, backend), ticks: st.own });
  }
  return pids;
}

// A server that is gone has no CPU figure: that fails the phase.
function own(pid) {
  const st = stat(pid);
  if (!st) throw new Error(`process ${pid} is not running`);
  return st.own;
}

export function cpuProbe(json) {
  if (!json) return undefined;
  const p = JSON.parse(json);
  if (p.server) {
    const t0 = own(p.server);
    return () => ({ server: (own(p.server) - t0) * TICK_MS });
  }
  const front0 = own(p.front);
  const before = clusterReading(p.postmaster, p.backend);
  return () => {
    const out = { front: (own(p.front) - front0) * TICK_MS, backends: 0, wal_ckpt: 0, rest: 0 };
    const after = clusterReading(p.postmaster, p.backend);
    for (const pid of new Set([...before.keys(), ...after.keys()])) {
      const a = before.get(pid), b = after.get(pid);
      // Gone by the end: its whole life is now in the postmaster's cutime (rest), of which
      // only the time after `before` belongs to this phase.
      if (!b) { out.rest -= a.ticks * TICK_MS; continue; }
      out[b.group] += (b.ticks - (a?.ticks ?? 0)) * TICK_MS;
    }
    return out;
  };
}
