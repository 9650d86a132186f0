// bench_rtt.mjs - round trip of MCP tool calls through the official SDK
// client, over stdio and over HTTP: ping, run_command `true`, and run_code
// `1+1` (warm python context).  Prints p50/p99 in ms.  Not a test:
//   node tests/node/bench_rtt.mjs [N]
import { connectHttp, connectStdio, startServer } from './lib.mjs';

const N = Number(process.argv[2] || 200);

function pct(v, p) {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function measure(fn) {
  for (let i = 0; i < 20; i++) await fn();
  const v = [];
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    v.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return `p50 ${pct(v, 50).toFixed(2)} ms  p99 ${pct(v, 99).toFixed(2)} ms`;
}

async function bench(kind, s) {
  const c = s.client;
  console.log(`${kind} ping:                ${await measure(() => c.ping())}`);
  console.log(`${kind} run_command true:    ${await measure(() =>
    c.callTool({ name: 'run_command', arguments: { command: 'true' } }))}`);
  console.log(`${kind} run_code 1+1:        ${await measure(() =>
    c.callTool({ name: 'run_code', arguments: { code: '1+1' } }))}`);
}

const st = await connectStdio();
await bench('stdio', st);
await st.close();
st.cleanup();
const server = await startServer();
const h = await connectHttp(server);
await bench('http ', h);
await h.close();
await server.stop();
