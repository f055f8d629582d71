// Read load for scripts/bench-replicas.sh: introspection of an access token and userinfo,
// alternately, from <concurrency> keep-alive connections for <seconds>; prints requests/s.
// Every answer is checked (200, active), so a replica that answered wrong fails the run.
//   node bench/reads.js <front> <access token> <concurrency> <seconds>
// Environment: CLIENT_ID, CLIENT_SECRET.
import http from "node:http";

const [base, token, conc = "8", secs = "10"] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(conc) });
const basic = "Basic " + Buffer.from(`${process.env.CLIENT_ID}:${process.env.CLIENT_SECRET}`).toString("base64");
const body = new URLSearchParams({ token }).toString();

function request(method, path, headers, data) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, agent, headers }, (res) => {
      let text = "";
      res.on("data", (c) => { text += c; });
      res.on("end", () => resolve({ status: res.statusCode, text }));
    });
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

const end = Date.now() + Number(secs) * 1000;
let done = 0;
await Promise.all(Array.from({ length: Number(conc) }, async (_, w) => {
  for (let i = w; Date.now() < end; i++) {
    if (i % 2 === 0) {
      const r = await request("POST", "/oauth/introspect", { authorization: basic,
        "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) }, body);
      if (r.status !== 200 || !JSON.parse(r.text).active) throw new Error(`introspect: ${r.status} ${r.text}`);
    } else {
      const r = await request("GET", "/oauth/userinfo", { authorization: `Bearer ${token}` });
      if (r.status !== 200) throw new Error(`userinfo: ${r.status} ${r.text}`);
    }
    done++;
  }
}));
console.log(JSON.stringify({ concurrency: Number(conc), seconds: Number(secs), requests_per_s: Number((done / Number(secs)).toFixed(1)) }));
