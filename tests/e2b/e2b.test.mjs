// e2b.test.mjs - the official E2B JS SDKs (e2b, @e2b/code-interpreter,
// pinned in package-lock.json) against a real `agentjail serve`, pointed
// at it only through E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox as CodeSandbox } from '@e2b/code-interpreter';
import {
  Sandbox, CommandExitError, TimeoutError, SandboxError, FileNotFoundError,
  AuthenticationError, SandboxNotFoundError, NotFoundError,
} from 'e2b';
import { createKeyWithId, revokeKeyCli, startServer, timed } from './lib.mjs';

let srv;
let sbx; // shared by most tests; the basic flow has its own

before(async () => {
  srv = await startServer();
  // half an hour: the suite can outlive minutes on a loaded machine or in
  // User-Mode Linux (tests/uml), and expiry is not what it tests
  sbx = await CodeSandbox.create({ timeoutMs: 1_800_000, envs: { SBX_ENV: 'sandbox-level' },
    metadata: { suite: 'e2b' } });
});

let stopped = false;
after(async () => {
  if (!stopped) await srv.stop();
});

async function waitFor(pred, ms = 5000) {
  const until = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > until) throw new Error(`condition not met in ${ms} ms: ${pred}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('basic flow: create, commands.run, files, runCode with a chart, list, kill', async (t) => {
  const t0 = performance.now();
  const [s, createMs] = await timed(() => CodeSandbox.create({ metadata: { flow: 'basic' } }));
  const r = await s.commands.run('echo hello; echo oops >&2');
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, 'hello\n');
  assert.equal(r.stderr, 'oops\n');
  await assert.rejects(s.commands.run('echo partial; exit 7'),
    (e) => e instanceof CommandExitError && e.exitCode === 7 && e.stdout === 'partial\n');

  await s.files.write('/workspace/hello.txt', 'Hello, agentjail');
  assert.equal(await s.files.read('/workspace/hello.txt'), 'Hello, agentjail');
  assert.equal((await s.commands.run('cat hello.txt')).stdout, 'Hello, agentjail');

  const c1 = await s.runCode('x = 41\nprint("set")');
  assert.equal(c1.logs.stdout.join(''), 'set\n');
  assert.equal(c1.error, undefined);
  assert.equal((await s.runCode('x + 1')).text, '42');
  const chart = await s.runCode(
    'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title("squares")\nplt.show()');
  assert.equal(chart.error, undefined);
  const fig = chart.results.find((x) => x.png);
  assert.ok(fig, `no png among ${JSON.stringify(chart.results.map((x) => x.formats()))}`);
  const png = Buffer.from(fig.png, 'base64');
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.ok(png.length > 1000);

  const listed = await Sandbox.list({ query: { metadata: { flow: 'basic' } } }).nextItems();
  assert.deepEqual(listed.map((x) => x.sandboxId), [s.sandboxId]);
  assert.equal(listed[0].state, 'running');
  assert.deepEqual(listed[0].metadata, { flow: 'basic' });

  assert.equal(await s.isRunning(), true);
  const [killed, killMs] = await timed(() => s.kill());
  assert.equal(killed, true);
  assert.equal(await s.isRunning(), false);
  assert.equal(await s.kill(), false);
  await assert.rejects(s.commands.run('true'));
  t.diagnostic(`create ${createMs.toFixed(1)} ms, kill ${killMs.toFixed(1)} ms, ` +
    `whole flow ${(performance.now() - t0).toFixed(0)} ms`);
});

test('create, run, kill round trips', async (t) => {
  const cycles = [];
  for (let i = 0; i < 5; i++) {
    const [, ms] = await timed(async () => {
      const s = await Sandbox.create();
      assert.equal((await s.commands.run('echo $((6 * 7))')).stdout, '42\n');
      assert.equal(await s.kill(), true);
    });
    cycles.push(ms);
  }
  const runs = [];
  for (let i = 0; i < 20; i++) runs.push((await timed(() => sbx.commands.run('true')))[1]);
  const cells = [];
  await sbx.runCode('0');
  for (let i = 0; i < 20; i++) cells.push((await timed(() => sbx.runCode('1 + 1')))[1]);
  t.diagnostic(`create+run+kill p50 ${median(cycles).toFixed(1)} ms; ` +
    `commands.run('true') p50 ${median(runs).toFixed(1)} ms; ` +
    `runCode('1 + 1') p50 ${median(cells).toFixed(1)} ms`);
});

test('background command: onStdout/onStderr stream, list shows it, kill ends it', async () => {
  const out = [];
  const err = [];
  const h = await sbx.commands.run(
    'for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.1; done; sleep 31',
    { background: true, onStdout: (d) => out.push(d), onStderr: (d) => err.push(d) });
  assert.ok(h.pid > 0);
  await waitFor(() => out.join('').includes('out3') && err.join('').includes('err3'));
  assert.equal(out.join(''), 'out1\nout2\nout3\n');
  assert.equal(err.join(''), 'err1\nerr2\nerr3\n');
  const procs = await sbx.commands.list();
  const mine = procs.find((p) => p.pid === h.pid);
  assert.ok(mine, `pid ${h.pid} not in ${JSON.stringify(procs)}`);
  assert.equal(mine.cmd, '/bin/bash');
  assert.match(mine.args.at(-1), /sleep 31$/);

  assert.equal(await h.kill(), true);
  await assert.rejects(h.wait(), (e) => e instanceof CommandExitError && e.exitCode === -1);
  assert.ok(!(await sbx.commands.list()).some((p) => p.pid === h.pid));
  assert.equal(await sbx.commands.kill(h.pid), false);
});

test('a command outlives its client; connect, sendStdin and closeStdin reach it', async () => {
  const h = await sbx.commands.run('read a; echo got:$a; read b; echo got:$b; exit 3',
    { background: true, stdin: true, timeoutMs: 0 });
  await h.disconnect();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok((await sbx.commands.list()).some((p) => p.pid === h.pid));
  const seen = [];
  const h2 = await sbx.commands.connect(h.pid, { onStdout: (d) => seen.push(d) });
  await sbx.commands.sendStdin(h.pid, 'one\n');
  await waitFor(() => seen.join('').includes('got:one'));
  await sbx.commands.closeStdin(h.pid);
  await assert.rejects(h2.wait(), (e) => e instanceof CommandExitError && e.exitCode === 3 &&
    e.stdout === 'got:one\ngot:\n');
});

test('output is streamed whole past a megabyte; connect to a gone pid is NotFound', async () => {
  const r = await sbx.commands.run("head -c 3000000 /dev/zero | tr '\\0' a; echo; echo done >&2");
  assert.equal(r.stdout.length, 3_000_001);
  assert.match(r.stdout, /^a+\n$/);
  assert.equal(r.stderr, 'done\n');
  await assert.rejects(sbx.commands.connect(999999), NotFoundError);
  await assert.rejects(sbx.commands.sendStdin(999999, 'x'), NotFoundError);
});

test('Connect wire: start first, keepalives, data, end, then the end-stream frame', async () => {
  const msg = Buffer.from(JSON.stringify({ process: { cmd: '/bin/sh', args: ['-c', 'sleep 1.5; echo x'] } }));
  const envelope = Buffer.concat([Buffer.alloc(5), msg]);
  envelope.writeUInt32BE(msg.length, 1);
  const headers = { 'Content-Type': 'application/connect+json', 'Connect-Protocol-Version': '1',
    'Keepalive-Ping-Interval': '1', 'E2b-Sandbox-Id': sbx.sandboxId,
    'E2b-Sandbox-Port': '49983', 'X-Access-Token': sbx.envdAccessToken };
  const res = await fetch(`${srv.url}/process.Process/Start`, { method: 'POST', headers, body: envelope });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/connect+json');
  const body = Buffer.from(await res.arrayBuffer());
  const frames = [];
  for (let i = 0; i < body.length;) {
    const n = body.readUInt32BE(i + 1);
    frames.push([body[i], JSON.parse(body.subarray(i + 5, i + 5 + n).toString())]);
    i += 5 + n;
  }
  const kinds = frames.map(([flag, m]) => (flag === 2 ? 'end-stream' : Object.keys(m.event)[0]));
  assert.equal(kinds[0], 'start');
  assert.ok(frames[0][1].event.start.pid > 0);
  assert.ok(kinds.indexOf('keepalive') > 0, kinds.join());
  assert.ok(kinds.indexOf('keepalive') < kinds.indexOf('data'), kinds.join());
  assert.deepEqual(kinds.slice(-2), ['end', 'end-stream']);
  assert.deepEqual(frames.find(([, m]) => m.event?.data)[1].event.data, { stdout: 'eAo=' });
  assert.deepEqual(frames.at(-2)[1].event.end, { exitCode: 0, exited: true, status: 'exit status 0' });
  assert.deepEqual(frames.at(-1), [2, {}]);

  const stat = await fetch(`${srv.url}/filesystem.Filesystem/Stat`, { method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' }, body: '{"path":"/nope"}' });
  assert.equal(stat.status, 404);
  assert.match(stat.headers.get('content-type'), /^application\/json/);
  assert.equal((await stat.json()).code, 'not_found');
});

test('Connect wire: a request that is not one plain envelope is refused before anything runs', async () => {
  const headers = { 'Content-Type': 'application/connect+json', 'Connect-Protocol-Version': '1',
    'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983', 'X-Access-Token': sbx.envdAccessToken };
  const msg = Buffer.from(JSON.stringify({ process: { cmd: '/bin/sh', args: ['-c', 'touch /workspace/ran'] } }));
  const envelope = (flag, length = msg.length, payload = msg) => {
    const h = Buffer.alloc(5);
    h[0] = flag;
    h.writeUInt32BE(length, 1);
    return Buffer.concat([h, payload]);
  };
  const bodies = {
    'end-stream flag': envelope(0x02), 'compressed flag': envelope(0x01), 'unknown flag': envelope(0x80),
    'length one short': envelope(0, msg.length - 1), 'huge length': envelope(0, 0xffffffff),
    'two envelopes': Buffer.concat([envelope(0), envelope(0)]), 'header cut short': Buffer.alloc(3),
    'not an object': envelope(0, 5, Buffer.from('[1,2]')),
  };
  for (const [what, body] of Object.entries(bodies)) {
    const res = await fetch(`${srv.url}/process.Process/Start`, { method: 'POST', headers, body });
    assert.equal(res.status, 200, what);
    const raw = Buffer.from(await res.arrayBuffer());
    assert.equal(raw[0], 2, `${what}: one end-stream frame`);
    assert.equal(raw.readUInt32BE(1), raw.length - 5, what);
    assert.equal(JSON.parse(raw.subarray(5).toString()).error.code, 'invalid_argument', what);
  }
  assert.equal(await sbx.files.exists('/workspace/ran'), false);
});

test('NDJSON wire: one JSON object per line, ASCII only, no blank line', async () => {
  const res = await fetch(`${srv.url}/execute`, { method: 'POST', body: JSON.stringify({
    code: 'print("é✓")\nprint("x", flush=True)\n"done"' }), headers: { 'Content-Type': 'application/json',
    'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49999',
    'E2B-Traffic-Access-Token': sbx.trafficAccessToken } });
  assert.equal(res.status, 200);
  const raw = Buffer.from(await res.arrayBuffer());
  assert.ok(raw.every((b) => b < 0x80), 'non-ASCII byte in the stream');
  const text = raw.toString();
  assert.ok(text.endsWith('\n'));
  const events = text.slice(0, -1).split('\n').map((l) => JSON.parse(l));
  assert.ok(events.every((ev) => typeof ev === 'object' && ev.type));
  assert.equal(events.filter((ev) => ev.type === 'stdout').map((ev) => ev.text).join(''), 'é✓\nx\n');
  assert.deepEqual(events.find((ev) => ev.type === 'result'),
    { type: 'result', is_main_result: true, text: "'done'" });
  assert.equal(events.at(-1).type, 'end_of_execution');
  assert.ok(events.some((ev) => ev.type === 'number_of_executions' && ev.execution_count > 0));
});

test('command timeout: Connect-Timeout-Ms kills the command', async () => {
  const t0 = Date.now();
  await assert.rejects(sbx.commands.run('echo start; sleep 32', { timeoutMs: 1000 }),
    (e) => e instanceof TimeoutError || (e instanceof CommandExitError && e.exitCode === -1));
  assert.ok(Date.now() - t0 < 5000, 'the timeout took too long');
  // the server kills it at the deadline even though the client gave up
  await waitFor(async () => !(await sbx.commands.list())
    .some((p) => p.args.at(-1)?.includes('sleep 32')));
  const ps = await sbx.commands.run('ps -eo args');
  assert.ok(!ps.stdout.includes('sleep 32'), ps.stdout);
});

test('envs and cwd', async () => {
  const r = await sbx.commands.run('echo "$FOO|$SBX_ENV"; pwd', { envs: { FOO: 'bar baz' }, cwd: '/tmp' });
  assert.equal(r.stdout, 'bar baz|sandbox-level\n/tmp\n');
  const home = await sbx.commands.run('pwd; test -t 0 || echo no-tty; cat </dev/stdin | wc -c');
  assert.equal(home.stdout, '/workspace\nno-tty\n0\n');
  await assert.rejects(sbx.commands.run('true', { cwd: '/does/not/exist' }), SandboxError);
});

test('files: makeDir, exists, getInfo, list, rename, remove, read errors', async () => {
  assert.equal(await sbx.files.makeDir('/workspace/d1/d2'), true);
  assert.equal(await sbx.files.makeDir('/workspace/d1/d2'), false);
  await sbx.files.write('/workspace/d1/d2/f.txt', 'abc');
  assert.equal(await sbx.files.exists('/workspace/d1/d2/f.txt'), true);
  assert.equal(await sbx.files.exists('/workspace/d1/nope'), false);

  const info = await sbx.files.getInfo('/workspace/d1/d2/f.txt');
  assert.equal(info.type, 'file');
  assert.equal(info.name, 'f.txt');
  assert.equal(info.path, '/workspace/d1/d2/f.txt');
  assert.equal(info.size, 3);
  assert.match(info.permissions, /^-[rwx-]{9}$/);
  assert.ok(Math.abs(info.modifiedTime.getTime() - Date.now()) < 60_000);
  assert.equal((await sbx.files.getInfo('/workspace/d1')).type, 'dir');

  const top = await sbx.files.list('/workspace/d1');
  assert.deepEqual(top.map((e) => [e.name, e.type]), [['d2', 'dir']]);
  const deep = await sbx.files.list('/workspace/d1', { depth: 2 });
  assert.deepEqual(deep.map((e) => e.path).sort(), ['/workspace/d1/d2', '/workspace/d1/d2/f.txt']);

  const moved = await sbx.files.rename('/workspace/d1/d2/f.txt', '/workspace/d1/g.txt');
  assert.equal(moved.path, '/workspace/d1/g.txt');
  assert.equal(await sbx.files.read('/workspace/d1/g.txt'), 'abc');
  await sbx.files.remove('/workspace/d1');
  assert.equal(await sbx.files.exists('/workspace/d1'), false);
  await assert.rejects(sbx.files.read('/workspace/d1/g.txt'), FileNotFoundError);
  await assert.rejects(sbx.files.getInfo('/workspace/none'), FileNotFoundError);
  await assert.rejects(sbx.files.list('/workspace/none'), FileNotFoundError);
});

test('files: empty, binary, many at once, octet-stream, a few MB', async () => {
  await sbx.files.write('/workspace/empty', '');
  assert.equal(await sbx.files.read('/workspace/empty'), '');
  assert.equal((await sbx.files.read('/workspace/empty', { format: 'bytes' })).length, 0);

  const bin = Uint8Array.from({ length: 256 }, (_, i) => i);
  await sbx.files.write('/workspace/bin', bin.buffer);
  assert.deepEqual(await sbx.files.read('/workspace/bin', { format: 'bytes' }), bin);

  const many = await sbx.files.write([
    { path: '/workspace/m/a.txt', data: 'A' },
    { path: '/workspace/m/b "c".txt', data: 'B' },
  ]);
  assert.deepEqual(many.map((f) => f.path), ['/workspace/m/a.txt', '/workspace/m/b "c".txt']);
  assert.equal(await sbx.files.read('/workspace/m/b "c".txt'), 'B');

  const one = await sbx.files.write('/workspace/o/raw.txt', 'octet', { useOctetStream: true });
  assert.equal(one.path, '/workspace/o/raw.txt');
  assert.equal(await sbx.files.read('/workspace/o/raw.txt'), 'octet');

  const big = Buffer.alloc(3 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 12)) & 0xff;
  await sbx.files.write('/workspace/big.bin', big);
  const sum = await sbx.commands.run('sha256sum /workspace/big.bin');
  const { createHash } = await import('node:crypto');
  assert.equal(sum.stdout.split(' ')[0], createHash('sha256').update(big).digest('hex'));
  assert.ok(Buffer.from(await sbx.files.read('/workspace/big.bin', { format: 'bytes' })).equals(big));
});

test('uploads: multipart bodies that would make the server hold bytes are refused', async () => {
  const B = 'XyZ';
  const headers = { 'Content-Type': `multipart/form-data; boundary=${B}`, 'E2b-Sandbox-Id': sbx.sandboxId,
    'E2b-Sandbox-Port': '49983', 'X-Access-Token': sbx.envdAccessToken };
  const upload = async (name, afterDelim, extraHeaders = '') => {
    const body = `--${B}${afterDelim}\r\n${extraHeaders}Content-Disposition: form-data; name="file"; ` +
      `filename="/workspace/${name}"\r\n\r\n${name}\r\n--${B}--\r\n`;
    const res = await fetch(`${srv.url}/files`, { method: 'POST', headers, body });
    return [res.status, await res.json()];
  };
  const [ok, files] = await upload('padded', ' \t ');
  assert.equal(ok, 200);
  assert.equal(files[0].path, '/workspace/padded');
  const [padded, e1] = await upload('overpadded', ' '.repeat(2048));
  assert.equal(padded, 400);
  assert.match(e1.message, /padding over 1024 bytes/);
  const [long, e2] = await upload('longheaders', '', `X-Pad: ${'h'.repeat(17 << 10)}\r\n`);
  assert.equal(long, 400);
  assert.match(e2.message, /headers too long/);
  for (const name of ['overpadded', 'longheaders'])
    assert.equal(await sbx.files.exists(`/workspace/${name}`), false, name);
});

test('files.watchDir reports creates, writes and removes, recursively', async () => {
  await sbx.files.makeDir('/workspace/w');
  const events = [];
  const w = await sbx.files.watchDir('/workspace/w', (ev) => events.push(`${ev.type} ${ev.name}`),
    { recursive: true });
  await sbx.files.write('/workspace/w/a.txt', 'x');
  await sbx.files.makeDir('/workspace/w/sub');
  await sbx.files.write('/workspace/w/sub/b.txt', 'y');
  await waitFor(() => events.includes('write sub/b.txt'));
  await sbx.files.remove('/workspace/w/a.txt');
  await waitFor(() => events.includes('remove a.txt'));
  await w.stop();
  for (const ev of ['create a.txt', 'write a.txt', 'create sub', 'create sub/b.txt'])
    assert.ok(events.includes(ev), `${ev} not in ${events}`);
  await assert.rejects(sbx.files.watchDir('/workspace/nowhere', () => {}), FileNotFoundError);
});

test('list: the triple-encoded metadata filter and paging', async () => {
  const tricky = { 'k e/y': 'v a&l=ue%+' };
  const a = await Sandbox.create({ metadata: { ...tricky, group: 'page' } });
  const b = await Sandbox.create({ metadata: { 'k e/y': 'other', group: 'page' } });
  try {
    const hit = await Sandbox.list({ query: { metadata: tricky } }).nextItems();
    assert.deepEqual(hit.map((x) => x.sandboxId), [a.sandboxId]);
    assert.deepEqual(hit[0].metadata, { ...tricky, group: 'page' });

    const pages = Sandbox.list({ query: { metadata: { group: 'page' } }, limit: 1 });
    const first = await pages.nextItems();
    assert.equal(first.length, 1);
    assert.equal(pages.hasNext, true);
    const second = await pages.nextItems();
    assert.equal(second.length, 1);
    assert.equal(pages.hasNext, false);
    assert.deepEqual([first[0].sandboxId, second[0].sandboxId].sort(),
      [a.sandboxId, b.sandboxId].sort());
    // newest first, as E2B lists
    assert.equal(first[0].sandboxId, b.sandboxId);

    const none = await Sandbox.list({ query: { state: ['paused'] } }).nextItems();
    assert.deepEqual(none, []);
  } finally {
    await a.kill();
    await b.kill();
  }
});

test('another tenant cannot reach the sandbox; wrong tokens are refused', async () => {
  const other = { apiKey: srv.keys.other };
  await assert.rejects(Sandbox.getInfo(sbx.sandboxId, other), SandboxNotFoundError);
  assert.equal(await Sandbox.kill(sbx.sandboxId, other), false);
  await assert.rejects(Sandbox.connect(sbx.sandboxId, other), SandboxNotFoundError);
  assert.ok(!(await Sandbox.list(other).nextItems()).some((x) => x.sandboxId === sbx.sandboxId));
  assert.equal(await sbx.isRunning(), true);

  await assert.rejects(Sandbox.create({ apiKey: `e2b_${'0'.repeat(40)}` }), AuthenticationError);

  const forged = await Sandbox.connect(sbx.sandboxId);
  forged.envdAccessToken = 'f'.repeat(32);
  await assert.rejects(forged.commands.run('true'), AuthenticationError);

  const headers = { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983',
    'Content-Type': 'application/json', 'Connect-Protocol-Version': '1' };
  const noToken = await fetch(`${srv.url}/process.Process/List`, { method: 'POST', headers, body: '{}' });
  assert.equal(noToken.status, 401);
  assert.equal((await noToken.json()).code, 'unauthenticated');
  const wrongTraffic = await fetch(`${srv.url}/contexts`, {
    headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2B-Traffic-Access-Token': 'x'.repeat(32) } });
  assert.equal(wrongTraffic.status, 401);
  // the envd token of one sandbox does not open another
  const s2 = await Sandbox.create();
  try {
    const cross = await fetch(`${srv.url}/process.Process/List`, { method: 'POST',
      headers: { ...headers, 'X-Access-Token': s2.envdAccessToken }, body: '{}' });
    assert.equal(cross.status, 401);
  } finally {
    await s2.kill();
  }
});

test('a viewer key gets no access token and cannot run code or write files', async () => {
  const viewer = createKeyWithId(srv.state, 'acme', 'viewer').key;
  const info = await Sandbox.getInfo(sbx.sandboxId, { apiKey: viewer });
  assert.equal(info.sandboxId, sbx.sandboxId);
  const raw = await fetch(`${srv.url}/sandboxes/${sbx.sandboxId}`, { headers: { 'X-API-KEY': viewer } });
  assert.equal(raw.status, 200);
  const body = await raw.json();
  assert.equal(body.sandboxID, sbx.sandboxId);
  assert.ok(!('envdAccessToken' in body) && !('trafficAccessToken' in body), JSON.stringify(body));
  await assert.rejects(Sandbox.connect(sbx.sandboxId, { apiKey: viewer }), /^SandboxError: 403: /);
  await assert.rejects(CodeSandbox.connect(sbx.sandboxId, { apiKey: viewer }), /403/);
  await assert.rejects(Sandbox.create({ apiKey: viewer }), /403/);
  // nor does an admin of another tenant (admins see every tenant's sandboxes)
  const admin = createKeyWithId(srv.state, 'ops', 'admin').key;
  const adm = await (await fetch(`${srv.url}/sandboxes/${sbx.sandboxId}`,
    { headers: { 'X-API-KEY': admin } })).json();
  assert.ok(!('envdAccessToken' in adm), JSON.stringify(adm));
  await assert.rejects(Sandbox.connect(sbx.sandboxId, { apiKey: admin }), /403/);
});

for (const how of ['DELETE /v1/keys', 'agentjail keys revoke']) {
  test(`a token acts as the key that obtained it and dies when ${how} revokes it`, async () => {
    const u = createKeyWithId(srv.state, 'acme', 'user');
    const adminKey = createKeyWithId(srv.state, 'ops', 'admin').native;
    const mine = await CodeSandbox.connect(sbx.sandboxId, { apiKey: u.key });
    assert.notEqual(mine.envdAccessToken, sbx.envdAccessToken);
    await mine.files.write('/workspace/by-u', 'u');
    assert.equal((await mine.commands.run('cat /workspace/by-u')).stdout, 'u');
    assert.equal((await mine.runCode('40 + 2')).text, '42');
    const audit = await (await fetch(`${srv.url}/v1/audit?sandbox=${sbx.sandboxId}&limit=1000`,
      { headers: { Authorization: `Bearer ${adminKey}` } })).json();
    const writes = audit.records.filter((x) => x.action === 'file.write');
    assert.equal(writes.at(-1).key_id, u.id, 'the write is recorded under the key that acted');

    if (how.startsWith('DELETE')) {
      const r = await fetch(`${srv.url}/v1/keys/${u.id}`,
        { method: 'DELETE', headers: { Authorization: `Bearer ${adminKey}` } });
      assert.equal(r.status, 204);
    } else {
      revokeKeyCli(srv.state, u.id);
    }
    await assert.rejects(mine.commands.run('echo x > /workspace/after-revoke'), AuthenticationError);
    await assert.rejects(mine.files.write('/workspace/after-revoke', 'x'),
      (err) => err instanceof AuthenticationError || /401/.test(String(err)));
    await assert.rejects(mine.runCode('open("/workspace/after-revoke", "w")'),
      (err) => /401|unauthenticated|revoked/i.test(String(err)));
    await assert.rejects(Sandbox.connect(sbx.sandboxId, { apiKey: u.key }), AuthenticationError);
    // the sandbox is the tenant's: it runs on, other keys' tokens work
    assert.equal(await sbx.isRunning(), true);
    assert.equal((await sbx.commands.run('ls /workspace/after-revoke 2>&1 || true')).stdout
      .includes('No such file'), true);
  });
}

test('setTimeout and Sandbox.connect', async () => {
  const before = (await sbx.getInfo()).endAt.getTime();
  await sbx.setTimeout(3_600_000);
  const after = (await sbx.getInfo()).endAt.getTime();
  assert.ok(after - before > 1_500_000, `endAt moved ${after - before} ms`);
  await sbx.files.write('/workspace/marker', 'kept');
  const again = await CodeSandbox.connect(sbx.sandboxId);
  assert.equal(again.sandboxId, sbx.sandboxId);
  assert.equal((await again.commands.run('cat /workspace/marker')).stdout, 'kept');
  assert.equal((await again.runCode('21 * 2')).text, '42');
  await assert.rejects(Sandbox.connect('sbdoesnotexist0000000'), SandboxNotFoundError);
});

test('unsupported calls fail at once with a clear error', async () => {
  const [err, ms] = await timed(() => sbx.pause().then(() => null, (e) => e));
  assert.ok(err instanceof SandboxError, String(err));
  assert.match(err.message, /^501: agentjail does not support/);
  assert.ok(ms < 2000);
  await assert.rejects(sbx.getMetrics(), /501: agentjail does not support/);
  await assert.rejects(Sandbox.create({ allowInternetAccess: true }), /no network access/);
  await assert.rejects(Sandbox.pause('sbdoesnotexist0000000'), SandboxNotFoundError);
});

test('code interpreter: errors, contexts, env vars, languages, text', async () => {
  const e = await sbx.runCode('1/0');
  assert.equal(e.error.name, 'ZeroDivisionError');
  assert.match(e.error.traceback, /ZeroDivisionError/);

  const ctx = await sbx.createCodeContext({ language: 'python' });
  assert.equal(ctx.language, 'python');
  await sbx.runCode('y = 5', { context: ctx });
  assert.equal((await sbx.runCode('y', { context: ctx })).text, '5');
  assert.equal((await sbx.runCode('"y" in globals()')).text, 'False');
  assert.ok((await sbx.listCodeContexts()).some((c) => c.id === ctx.id));

  const env = await sbx.runCode('import os\nos.environ["ZED"]', { envs: { ZED: 'zz' } });
  assert.equal(env.text, "'zz'");
  const text = await sbx.runCode('print("héllo ✓ " * 2000)');
  assert.equal(text.logs.stdout.join(''), `${'héllo ✓ '.repeat(2000)}\n`);
  const html = await sbx.runCode('class H:\n  def _repr_html_(self): return "<b>hi</b>"\nH()');
  assert.equal(html.results[0].html, '<b>hi</b>');
  assert.equal((await sbx.runCode('1 + 2', { language: 'javascript' })).text, '3');
  // (requestTimeoutMs 0: on an HTTP error the SDK leaves its request timer
  // running, which would hold this process for a minute)
  await assert.rejects(sbx.runCode('1', { language: 'cobol', requestTimeoutMs: 0 }),
    /400 Bad Request/);

  await sbx.restartCodeContext(ctx);
  assert.equal((await sbx.runCode('"y" in globals()', { context: ctx })).text, 'False');
  await sbx.removeCodeContext(ctx);
  assert.ok(!(await sbx.listCodeContexts()).some((c) => c.id === ctx.id));
});

test('code interpreter: the client-side timeout interrupts the cell, state survives', async () => {
  const ctx = await sbx.createCodeContext();
  await sbx.runCode('kept = "yes"', { context: ctx });
  // an hour-long cell: the next one answering at all shows it did not wait
  await assert.rejects(sbx.runCode('import time\ntime.sleep(3600)', { context: ctx, timeoutMs: 1000 }),
    TimeoutError);
  const [r, ms] = await timed(() => sbx.runCode('kept', { context: ctx }));
  assert.equal(r.text, "'yes'");
  console.log(`# the next cell answered in ${ms} ms`);
});

// Last: everything above ended cleanly on the server's side too (under
// `make check` a sanitizer report makes the exit status non-zero).
test('the server stops on SIGTERM with status 0', async () => {
  assert.equal(await sbx.kill(), true);
  stopped = true;
  const code = await srv.stop();
  assert.equal(code, 0, `serve exited ${code}:\n${srv.log()}`);
});
