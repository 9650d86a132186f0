// capture.mjs - a pass-through HTTP proxy that saves the request bodies
// the E2B parsers read, as fuzz seeds (tests/fuzz/corpus): with
// AJ_E2B_CAPTURE=DIR, lib.mjs puts it between the SDK and the server.
//   DIR/connect/NNNN    a Connect streaming request body (the envelope),
//                       the input of fuzz_e2b_connect
//   DIR/multipart/NNNN  a multipart upload: its Content-Type, a newline,
//                       then the body, the input of fuzz_e2b_multipart
// Off unless asked for; nothing of it runs in a normal test run.
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export async function captureProxy(target, dir) {
  for (const d of ['connect', 'multipart']) mkdirSync(join(dir, d), { recursive: true });
  let n = 0;
  const save = (kind, bytes) => {
    const name = `${process.pid}-${String(n++).padStart(4, '0')}`;
    writeFileSync(join(dir, kind, name), bytes);
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    const up = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers },
      (ur) => {
        res.writeHead(ur.statusCode, ur.headers);
        res.flushHeaders(); // a stream's head goes on before its first byte
        ur.pipe(res);
      });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.on('data', (c) => { chunks.push(c); up.write(c); });
    req.on('end', () => {
      up.end();
      const ct = req.headers['content-type'] ?? '';
      const body = Buffer.concat(chunks);
      if (ct.startsWith('application/connect+json')) save('connect', body);
      else if (ct.startsWith('multipart/form-data')) save('multipart', Buffer.concat([Buffer.from(`${ct}\n`), body]));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => { server.closeAllConnections(); server.close(); },
  };
}
