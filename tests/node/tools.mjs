// tools.mjs - the tool tests both transports run with the official SDK
// client.  Each test is top-level, so the TAP report has one line per
// test.  The client validates every structuredContent against the tool's
// outputSchema (error results too): a mismatch makes callTool throw.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

import { call, sleep } from './lib.mjs';

const TOOLS = ['create_sandbox', 'destroy_sandbox', 'list_files', 'read_file',
  'run_code', 'run_command', 'write_file'];
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// Run a command in the session's sandbox and return its stdout.
async function sh(client, command) {
  const r = await call(client, 'run_command', { command });
  assert.equal(r.isError, false, JSON.stringify(r.structuredContent));
  return r.structuredContent.stdout;
}

// Poll until fn() is true (or fail after ms).
async function eventually(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

// open() connects a client; teardown() (optional) runs after it closed.
// The hooks are the file's only ones: node 20 runs top-level hooks as
// they are registered, so a file must not add its own.
export function toolTests(kind, open, teardown) {
  let s;
  before(async () => { s = await open(); });
  after(async () => {
    await s?.close();
    if (teardown) await teardown();
  });

  test(`${kind}: tools/list has the seven tools with schemas and annotations`, async () => {
    const { tools } = await s.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
    for (const t of tools) {
      assert.ok(t.description.length > 80, `${t.name}: description too short`);
      assert.equal(t.inputSchema.type, 'object');
      assert.equal(t.outputSchema.type, 'object');
      assert.ok(t.outputSchema.properties.error, `${t.name}: no error in outputSchema`);
      assert.equal(t.annotations.openWorldHint, false);
    }
    const by = Object.fromEntries(tools.map((t) => [t.name, t]));
    assert.equal(by.read_file.annotations.readOnlyHint, true);
    assert.equal(by.list_files.annotations.readOnlyHint, true);
    assert.equal(by.run_command.annotations.readOnlyHint, false);
    assert.equal(by.destroy_sandbox.annotations.destructiveHint, true);
    assert.equal(by.create_sandbox.annotations.destructiveHint, false);
    assert.match(by.run_code.description, /no network/);
    assert.deepEqual(by.run_code.inputSchema.required, ['code']);
    assert.ok(by.run_command.inputSchema.properties.sandbox_id);
  });

  test(`${kind}: run_command returns exit code, stdout and stderr`, async () => {
    const r = await call(s.client, 'run_command', { command: 'echo out; echo err >&2' });
    assert.equal(r.isError, false);
    const sc = r.structuredContent;
    assert.equal(sc.exit_code, 0);
    assert.equal(sc.stdout, 'out\n');
    assert.equal(sc.stderr, 'err\n');
    assert.match(sc.sandbox_id, /\S/);
    assert.equal(sc.error, undefined);
  });

  test(`${kind}: a failing command is an error result that fits the schema`, async () => {
    const r = await call(s.client, 'run_command', { command: 'echo partial; exit 3' });
    assert.equal(r.isError, true);
    assert.equal(r.structuredContent.exit_code, 3);
    assert.equal(r.structuredContent.stdout, 'partial\n');
    assert.match(r.structuredContent.error, /status 3/);
  });

  test(`${kind}: run_command takes stdin, env and cwd`, async () => {
    const r = await call(s.client, 'run_command', {
      command: 'cat; echo "$FOO"; pwd', stdin: 'in\n', env: { FOO: 'bar' }, cwd: '/tmp',
    });
    assert.equal(r.structuredContent.stdout, 'in\nbar\n/tmp\n');
  });

  test(`${kind}: write_file, read_file and list_files`, async () => {
    const w = await call(s.client, 'write_file', { path: 'notes/a.txt', content: 'héllo\n' });
    assert.equal(w.isError, false, JSON.stringify(w.structuredContent));
    assert.equal(w.structuredContent.path, '/workspace/notes/a.txt');
    assert.equal(w.structuredContent.size, 7);
    const r = await call(s.client, 'read_file', { path: '/workspace/notes/a.txt' });
    assert.equal(r.structuredContent.content, 'héllo\n');
    assert.equal(r.structuredContent.truncated, false);
    const cut = await call(s.client, 'read_file', { path: 'notes/a.txt', max_bytes: 2 });
    assert.equal(cut.structuredContent.content, 'h'); // é is not cut in half
    assert.equal(cut.structuredContent.truncated, true);
    const l = await call(s.client, 'list_files', { path: 'notes' });
    const e = l.structuredContent.entries.find((x) => x.name === 'a.txt');
    assert.equal(e?.type, 'file');
    assert.equal(e?.size, 7);
    assert.equal(await sh(s.client, 'cat notes/a.txt'), 'héllo\n');
  });

  test(`${kind}: binary files go through base64`, async () => {
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe]);
    await call(s.client, 'write_file', { path: 'bin.dat', content: bytes.toString('base64'), encoding: 'base64' });
    const r = await call(s.client, 'read_file', { path: 'bin.dat', encoding: 'base64' });
    assert.deepEqual(Buffer.from(r.structuredContent.content, 'base64'), bytes);
    const t = await call(s.client, 'read_file', { path: 'bin.dat' });
    assert.equal(t.isError, true);
    assert.match(t.structuredContent.error, /base64/);
    const bad = await call(s.client, 'write_file', { path: 'x', content: 'not base64!', encoding: 'base64' });
    assert.equal(bad.isError, true);
    assert.match(bad.structuredContent.error, /base64/);
  });

  test(`${kind}: bad arguments are error results naming the argument`, async () => {
    let r = await call(s.client, 'run_command', { command: 5 });
    assert.equal(r.isError, true);
    assert.match(r.structuredContent.error, /'command' must be a string/);
    r = await call(s.client, 'run_command', {});
    assert.match(r.structuredContent.error, /'command' is required/);
    r = await call(s.client, 'run_command', { command: 'true', shell: 'zsh' });
    assert.match(r.structuredContent.error, /'shell' is not known/);
    r = await call(s.client, 'run_code', { code: '1', language: 'cobol' });
    assert.match(r.structuredContent.error, /'language' must be one of/);
    r = await call(s.client, 'read_file', { path: 'no/such/file' });
    assert.equal(r.isError, true);
    assert.ok(r.structuredContent.error.length > 0);
  });

  test(`${kind}: an unknown tool is a JSON-RPC invalid-params error`, async () => {
    await assert.rejects(s.client.callTool({ name: 'format_disk', arguments: {} }),
      (e) => e.code === -32602 && /Unknown tool/.test(e.message));
  });

  test(`${kind}: run_code keeps state between calls`, async () => {
    const a = await call(s.client, 'run_code', { code: 'x = 41' });
    assert.equal(a.isError, false, JSON.stringify(a.structuredContent));
    const b = await call(s.client, 'run_code', { code: 'x + 1' });
    assert.equal(b.isError, false);
    const main = b.structuredContent.results.find((x) => x.is_main_result);
    assert.equal(main?.text, '42');
    const c = await call(s.client, 'run_code', { code: 'print(x * 2)' });
    assert.equal(c.structuredContent.stdout, '82\n');
  });

  test(`${kind}: failing code is an error result with the exception`, async () => {
    const r = await call(s.client, 'run_code', { code: '1/0' });
    assert.equal(r.isError, true);
    assert.equal(r.structuredContent.exception.name, 'ZeroDivisionError');
    assert.match(r.structuredContent.exception.traceback, /ZeroDivisionError/);
    assert.match(r.structuredContent.error, /ZeroDivisionError/);
  });

  test(`${kind}: a matplotlib figure comes back as a PNG image`, async () => {
    const code = 'import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()';
    const r = await call(s.client, 'run_code', { code }, { timeout: 60000 });
    assert.equal(r.isError, false, JSON.stringify(r.structuredContent));
    const img = r.content.find((c) => c.type === 'image');
    assert.ok(img, 'no image content');
    assert.equal(img.mimeType, 'image/png');
    const png = Buffer.from(img.data, 'base64');
    assert.deepEqual(png.subarray(0, 8), PNG_MAGIC);
    assert.ok(png.length > 1000);
    assert.ok(r.structuredContent.results.some((x) => x.image_index === 0));
  });

  test(`${kind}: cancelling a long command kills it, and ping stays fast meanwhile`, async () => {
    const ac = new AbortController();
    const pending = s.client.callTool({ name: 'run_command', arguments: { command: 'sleep 30' } },
      undefined, { signal: ac.signal });
    pending.catch(() => {});
    await eventually(async () => /sleep 30/.test(await sh(s.client, 'ps -eo args')), 5000,
      'sleep started');
    const p0 = Date.now();
    await s.client.ping();
    assert.ok(Date.now() - p0 < 500, 'ping was slow while a command ran');
    const t0 = Date.now();
    ac.abort('changed my mind');
    await assert.rejects(pending);
    assert.ok(Date.now() - t0 < 1000, 'the call did not end at once');
    await eventually(async () => !/sleep 30/.test(await sh(s.client, 'ps -eo args')), 3000,
      'sleep gone after cancellation');
  });

  test(`${kind}: progress notifications while a command runs`, async () => {
    const seen = [];
    const r = await call(s.client, 'run_command',
      { command: 'for i in 1 2 3 4; do echo $i; sleep 0.4; done' },
      { onprogress: (p) => seen.push(p), timeout: 30000 });
    assert.equal(r.structuredContent.stdout, '1\n2\n3\n4\n');
    assert.ok(seen.length >= 2, `only ${seen.length} progress notifications`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].progress > seen[i - 1].progress);
  });

  test(`${kind}: create_sandbox and destroy_sandbox`, async () => {
    const own = (await call(s.client, 'run_command', { command: 'true' })).structuredContent.sandbox_id;
    const c = await call(s.client, 'create_sandbox', { memory_mb: 256, timeout_s: 120 });
    assert.equal(c.isError, false, JSON.stringify(c.structuredContent));
    const id = c.structuredContent.sandbox_id;
    assert.notEqual(id, own);
    assert.equal(c.structuredContent.memory_mb, 256);
    const r = await call(s.client, 'run_command', { command: 'echo there', sandbox_id: id });
    assert.equal(r.structuredContent.sandbox_id, id);
    assert.equal(r.structuredContent.stdout, 'there\n');
    const d = await call(s.client, 'destroy_sandbox', { sandbox_id: id });
    assert.equal(d.isError, false);
    assert.equal(d.structuredContent.destroyed, true);
    const gone = await call(s.client, 'run_command', { command: 'true', sandbox_id: id });
    assert.equal(gone.isError, true);
    assert.match(gone.structuredContent.error, /not found/);
    const again = await call(s.client, 'destroy_sandbox', { sandbox_id: id });
    assert.equal(again.isError, true);
    assert.equal(again.structuredContent.destroyed, false);
  });

  test(`${kind}: log messages follow logging/setLevel`, async () => {
    const logs = [];
    s.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
    await s.client.setLoggingLevel('info');
    const a = await call(s.client, 'create_sandbox', {});
    const id = a.structuredContent.sandbox_id;
    assert.ok(logs.some((l) => l.level === 'info' && String(l.data).includes(id)),
      `no info log naming ${id}: ${JSON.stringify(logs)}`);
    await s.client.setLoggingLevel('error');
    logs.length = 0;
    const b = await call(s.client, 'create_sandbox', {});
    assert.deepEqual(logs, []);
    await call(s.client, 'destroy_sandbox', { sandbox_id: id });
    await call(s.client, 'destroy_sandbox', { sandbox_id: b.structuredContent.sandbox_id });
    await assert.rejects(s.client.setLoggingLevel('loud'), (e) => e.code === -32602);
  });
}
