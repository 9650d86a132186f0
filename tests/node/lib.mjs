// lib.mjs - helpers shared by the MCP suites: start `agentjail serve` and
// `agentjail mcp`, connect the official SDK client, and small assertions.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const AGENTJAIL = process.env.AGENTJAIL ||
  path.resolve(here, '../../build/agentjail');

export function tempDir(tag) {
  return mkdtempSync(path.join(tmpdir(), `aj-mcp-${tag}-`));
}

// Wait for `pattern` on a child's stderr; resolves with the match.
function waitForLine(proc, pattern, ms) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      reject(new Error(`no '${pattern}' within ${ms} ms; stderr: ${seen}`));
    }, ms);
    proc.stderr.on('data', (chunk) => {
      seen += chunk;
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before '${pattern}': ${seen}`));
    });
  });
}

// What a sanitizer build prints when it finds something.
const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/;

function checkSanitizer(what, stderr) {
  const i = stderr.search(SANITIZER);
  if (i >= 0) throw new Error(`${what}: sanitizer report:\n${stderr.slice(i, i + 4000)}`);
}

function stopProcess(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
    const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.on('exit', (code) => {
      clearTimeout(kill);
      resolve(code);
    });
    proc.kill('SIGTERM');
  });
}

// `agentjail serve` on a free loopback port with a fresh state dir.
export async function startServer({ noAuth = false } = {}) {
  const state = tempDir('serve');
  const args = ['serve', '--listen', '127.0.0.1:0', '--state', state, '--quiet'];
  if (noAuth) args.push('--no-auth');
  const proc = spawn(AGENTJAIL, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (c) => { stderr += c; });
  const m = await waitForLine(proc, /listening on (http:\/\/[^\s]+)/, 15000);
  const base = m[1];
  const key = noAuth ? null : readFileSync(path.join(state, 'admin.key'), 'utf8').trim();
  return {
    base,
    url: `${base}/mcp`,
    key,
    state,
    // The exit status; throws if a sanitizer build reported anything.
    async stop() {
      const code = await stopProcess(proc);
      rmSync(state, { recursive: true, force: true });
      checkSanitizer('agentjail serve', stderr);
      return code;
    },
  };
}

const clientInfo = { name: 'agentjail-tests', version: '1.0.0' };

// An SDK client over Streamable HTTP.
export async function connectHttp(server, extra = {}) {
  const headers = server.key ? { Authorization: `Bearer ${server.key}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL(server.url), {
    requestInit: { headers },
  });
  const client = new Client(clientInfo, { capabilities: {} });
  await client.connect(transport);
  return {
    client,
    transport,
    ...extra,
    async close() {
      await client.close();
    },
  };
}

// An SDK client spawning `agentjail mcp` over stdio.
export async function connectStdio() {
  const state = tempDir('stdio');
  const transport = new StdioClientTransport({
    command: AGENTJAIL,
    args: ['mcp', '--state', state],
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (c) => { stderr += c; });
  const client = new Client(clientInfo, { capabilities: {} });
  await client.connect(transport);
  return {
    client,
    transport,
    state,
    stderr: () => stderr,
    // Ends stdin (the server exits); throws on a sanitizer report.
    async close() {
      await client.close();
      checkSanitizer('agentjail mcp', stderr);
    },
    cleanup() {
      rmSync(state, { recursive: true, force: true });
    },
  };
}

// The audit records of one sandbox in a state dir (CLI, JSON).
export function auditActions(state, sandboxId) {
  const out = execFileSync(AGENTJAIL, ['audit', 'list', '--state', state,
    '--sandbox', sandboxId, '--json'], { encoding: 'utf8' });
  return JSON.parse(out).map((r) => r.action);
}

// Call a tool and check the result's shape: the text block is the
// structured content as JSON (the SDK has already validated
// structuredContent against the tool's outputSchema).
export async function call(client, name, args, opts) {
  const r = await client.callTool({ name, arguments: args }, undefined, opts);
  assert.ok(r.structuredContent, `${name}: no structuredContent`);
  assert.equal(r.content[0].type, 'text');
  assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent);
  return r;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
