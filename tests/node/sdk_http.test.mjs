// sdk_http.test.mjs - MCP over Streamable HTTP at /mcp of `agentjail serve`
// with the official TypeScript SDK client: every tool, sessions (two
// sessions, two sandboxes; DELETE destroys the session's sandbox), and the
// transport's checks (API key, Origin, session id, protocol version).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import { AGENTJAIL, call, connectHttp, startServer } from './lib.mjs';
import { toolTests } from './tools.mjs';

let server;
toolTests('http', async () => {
  server = await startServer();
  return connectHttp(server);
}, async () => {
  assert.equal(await server.stop(), 0, 'the server did not stop cleanly');
});

const initBody = JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
});

function post(body, headers = {}, key = server.key) {
  return fetch(server.url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
      ...headers,
    },
    body,
  });
}

async function rawSession() {
  const r = await post(initBody);
  assert.equal(r.status, 200);
  const sid = r.headers.get('mcp-session-id');
  assert.match(sid, /^[0-9a-f]{32}$/);
  return sid;
}

async function sandboxState(id) {
  const r = await fetch(`${server.base}/v1/sandboxes/${id}`,
    { headers: { Authorization: `Bearer ${server.key}` } });
  assert.equal(r.status, 200);
  return (await r.json()).state;
}

test('http: two sessions get two sandboxes that do not share files', async () => {
  const a = await connectHttp(server);
  const b = await connectHttp(server);
  try {
    const ra = await call(a.client, 'run_command', { command: 'echo a > mine; ls' });
    const rb = await call(b.client, 'run_command', { command: 'ls' });
    assert.notEqual(ra.structuredContent.sandbox_id, rb.structuredContent.sandbox_id);
    assert.notEqual(a.transport.sessionId, b.transport.sessionId);
    assert.equal(ra.structuredContent.stdout, 'mine\n');
    assert.equal(rb.structuredContent.stdout, '');
  } finally {
    await a.close();
    await b.close();
  }
});

test('http: DELETE ends the session and destroys its sandbox', async () => {
  const a = await connectHttp(server);
  const r = await call(a.client, 'run_command', { command: 'true' });
  const id = r.structuredContent.sandbox_id;
  assert.equal(await sandboxState(id), 'running');
  const sid = a.transport.sessionId;
  await a.transport.terminateSession();
  assert.equal(await sandboxState(id), 'terminated');
  const again = await post('{"jsonrpc":"2.0","id":2,"method":"ping"}',
    { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' });
  assert.equal(again.status, 404);
  await a.close();
});

test('http: an API key is required (401 with WWW-Authenticate)', async () => {
  let r = await post(initBody, {}, null);
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate') || '', /^Bearer/);
  r = await post(initBody, {}, 'aj_0000000000000000000000000000000000000000');
  assert.equal(r.status, 401);
});

test('http: a session belongs to the key that made it', async () => {
  const out = execFileSync(AGENTJAIL, ['keys', 'create', '--tenant', 'other', '--role', 'user',
    '--state', server.state, '--json'], { encoding: 'utf8' });
  const other = JSON.parse(out).secret;
  assert.match(other, /^aj_/);
  const sid = await rawSession();
  const ping = '{"jsonrpc":"2.0","id":2,"method":"ping"}';
  assert.equal((await post(ping, { 'Mcp-Session-Id': sid }, other)).status, 404);
  assert.equal((await post(ping, { 'Mcp-Session-Id': sid })).status, 200);
});

test('http: a foreign Origin is refused (403), a local one accepted', async () => {
  let r = await post(initBody, { Origin: 'http://evil.example.com' });
  assert.equal(r.status, 403);
  const port = new URL(server.url).port;
  r = await post(initBody, { Origin: `http://localhost:${port}` });
  assert.equal(r.status, 200);
});

test('http: session id and protocol version are checked', async () => {
  const ping = '{"jsonrpc":"2.0","id":2,"method":"ping"}';
  let r = await post(ping);
  assert.equal(r.status, 400, 'no session id');
  r = await post(ping, { 'Mcp-Session-Id': 'f'.repeat(32) });
  assert.equal(r.status, 404, 'unknown session');
  const sid = await rawSession();
  r = await post(ping, { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2099-01-01' });
  assert.equal(r.status, 400, 'bad protocol version');
  r = await post(ping, { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-06-18' });
  assert.equal(r.status, 200);
  assert.deepEqual((await r.json()).result, {});
  r = await post('{"jsonrpc":"2.0","method":"notifications/initialized"}', { 'Mcp-Session-Id': sid });
  assert.equal(r.status, 202);
  r = await post('{oops', { 'Mcp-Session-Id': sid });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.code, -32700);
  r = await fetch(server.url, { headers: { Authorization: `Bearer ${server.key}`, 'Mcp-Session-Id': sid } });
  assert.equal(r.status, 405);
  r = await fetch(server.url, { method: 'DELETE', headers: { Authorization: `Bearer ${server.key}`, 'Mcp-Session-Id': sid } });
  assert.equal(r.status, 204);
});
