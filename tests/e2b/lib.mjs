// lib.mjs - a real `agentjail serve` for the E2B SDK suites: a temp state
// dir, API keys in E2B form, and the environment the SDK reads
// (E2B_API_URL, E2B_SANDBOX_URL, E2B_API_KEY) pointed at it.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureProxy } from './capture.mjs';

const AGENTJAIL = process.env.AGENTJAIL;
if (!AGENTJAIL) throw new Error('AGENTJAIL (the binary) is not set');

// `keys create` prints "created key key_<hex>" and "secret: aj_<hex>";
// E2B clients send e2b_<hex>.  Works while the server runs.
export function createKeyWithId(state, tenant, role = 'user') {
  const out = execFileSync(AGENTJAIL, ['keys', 'create', '--tenant', tenant,
    '--role', role, '--state', state], { encoding: 'utf8' });
  const m = out.match(/secret: aj_([0-9a-f]+)/);
  const id = out.match(/created key (key_[0-9a-f]+)/);
  if (!m || !id) throw new Error(`no key in: ${out}`);
  return { id: id[1], key: `e2b_${m[1]}`, native: `aj_${m[1]}` };
}

export function createKey(state, tenant, role = 'user') {
  return createKeyWithId(state, tenant, role).key;
}

// `keys revoke` straight on the store, beside the running server.
export function revokeKeyCli(state, id) {
  execFileSync(AGENTJAIL, ['keys', 'revoke', id, '--state', state], { encoding: 'utf8' });
}

export async function startServer() {
  const state = mkdtempSync(join(tmpdir(), 'aj-e2b-'));
  const keys = { acme: createKey(state, 'acme'), other: createKey(state, 'other') };
  const proc = spawn(AGENTJAIL, ['serve', '--listen', '127.0.0.1:0', '--state', state],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${log}`)), 10000);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => reject(new Error(`serve exited ${code}:\n${log}`)));
  });
  // AJ_E2B_CAPTURE=DIR: the SDK talks through a proxy that saves the
  // bodies the E2B parsers read, as fuzz seeds (capture.mjs).
  const proxy = process.env.AJ_E2B_CAPTURE
    ? await captureProxy(url, process.env.AJ_E2B_CAPTURE) : null;
  const front = proxy ? proxy.url : url;
  process.env.E2B_API_URL = front;
  process.env.E2B_SANDBOX_URL = front;
  process.env.E2B_API_KEY = keys.acme;
  return {
    url: front, keys, state,
    log: () => log,
    async stop() {
      const done = new Promise((resolve) => proc.on('exit', resolve));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15000);
      const code = await done;
      clearTimeout(timer);
      proxy?.close();
      rmSync(state, { recursive: true, force: true });
      return code;
    },
  };
}

// The wall time of fn in ms.
export async function timed(fn) {
  const t0 = performance.now();
  const v = await fn();
  return [v, performance.now() - t0];
}
