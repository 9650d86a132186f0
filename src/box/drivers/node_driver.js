// agentjail node driver: one stateful JavaScript context (see docs/drivers.md).
//
// Started by the sandbox manager as `node -e <this file>`.
//   fd 0  requests, one JSON object per line: {"id":N,"code":"...","env":{..}}
//   fd 1  the cells' stdout (console.log)   fd 2  the cells' stderr
//   fd 3  events, one JSON object per line (ready, result, error, end)
//
// Cells are evaluated by V8 itself in "REPL mode", the mode of the browser
// devtools console, reached through node's in-process inspector session.  It
// gives exactly the notebook semantics we want without rewriting any source:
// top-level let/const/class persist across cells and may be declared again
// by a later cell, top-level await works, and the completion value of the
// cell (its last expression) is returned.
//
// Interrupts: SIGINT stops synchronous code through node's SIGINT watchdog
// (vm's breakOnSigint) and abandons a cell that waits on a promise.
// Synchronous code that runs later from the event loop (after an await, in a
// timer) cannot be stopped; the manager's escalation to SIGKILL covers that.
// Everything of ours lives in this function's scope: cells run in the
// global scope (REPL mode), where a top-level let/const of the driver would
// collide with a cell's declaration of the same name.
(function driver() {
'use strict';
const fs = require('fs');
const inspector = require('inspector');
const net = require('net');
const util = require('util');
const vm = require('vm');

// --- channels ----------------------------------------------------------------
// Reopen the protocol pipes as new close-on-exec descriptors (node opens
// everything O_CLOEXEC) and drop the inherited ones, so that child processes
// can neither read requests nor keep the event pipe open after we die.  The
// cells get /dev/null as stdin.  Without /proc, keep the inherited ones.
function reopen(fd, flags) {
  try {
    const copy = fs.openSync(`/proc/self/fd/${fd}`, flags);
    fs.closeSync(fd);
    return copy;
  } catch {
    return fd;
  }
}
const reqFd = reopen(0, fs.constants.O_RDONLY);
if (reqFd !== 0) fs.openSync('/dev/null', 'r'); // lowest free descriptor: 0
const evFd = reopen(3, fs.constants.O_WRONLY);

// Write all of data to fd, waiting if the fd happens to be non-blocking.
function writeAll(fd, data) {
  for (let off = 0; off < data.length;) {
    try {
      off += fs.writeSync(fd, data, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

// One event, one line.  Strings are made well-formed first: JSON.stringify
// would write a lone surrogate as an escape that strict parsers refuse.
const wellFormed = (key, value) => (typeof value === 'string' ? value.toWellFormed() : value);
function emit(event) {
  writeAll(evFd, Buffer.from(JSON.stringify(event, wellFormed) + '\n'));
}

// process.stdout and process.stderr write with plain write(2) calls.  Node's
// own streams are synchronous on pipes too, but keep state in JS: an
// interrupt landing inside a console.log would leave them stuck for good.
for (const [stream, fd] of [[process.stdout, 1], [process.stderr, 2]]) {
  stream.write = function write(chunk, encoding, callback) {
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined];
    writeAll(fd, typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
    if (callback) process.nextTick(callback);
    return true;
  };
}

// --- the inspector session ---------------------------------------------------
const session = new inspector.Session();
session.connect();
function post(method, params) {
  return new Promise((resolve, reject) => {
    session.post(method, params, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

// The real value behind a RemoteObject: primitives come by value, objects are
// fetched by calling a function on them (synchronous for an in-process
// session) that stores `this` in a global slot.  Wrapped in {value} so that
// a promise is not adopted by the async function returning it.
const SLOT = Symbol.for('agentjail.value');
const STORE = `function () { 'use strict'; globalThis[Symbol.for('agentjail.value')] = this; }`;
async function valueOf(remote) {
  if (remote.type === 'undefined') return { value: undefined };
  if ('unserializableValue' in remote) {
    const u = remote.unserializableValue; // -0, NaN, Infinity, 12n
    return { value: u.endsWith('n') ? BigInt(u.slice(0, -1)) : Number(u) };
  }
  if (!remote.objectId) return { value: remote.value };
  await post('Runtime.callFunctionOn', { objectId: remote.objectId, functionDeclaration: STORE });
  const value = globalThis[SLOT];
  delete globalThis[SLOT];
  return { value };
}

// SIGINT.  Synchronous code is stopped by vm's breakOnSigint: the evaluation
// is started from a vm script that has it (V8 evaluates during
// session.post), and node's SIGINT watchdog terminates it.  We keep that
// watchdog running for the driver's whole life (startSigintWatchdog, what
// node's REPL does), so that its handler owns SIGINT all the time: node then
// never dies of SIGINT, and a SIGINT that finds no script running is only
// noted as pending, which we poll while a cell waits on a promise.  (Starting
// and stopping the watchdog around each run instead, as vm does by itself,
// has windows where SIGINT is fatal, lost, or replayed into the next cell.)
// Cells must not listen for SIGINT themselves: that takes the signal away.
process.noDeprecation = true; // process.binding warns, once
const contextify = process.binding('contextify');
process.noDeprecation = false;
contextify.startSigintWatchdog();

// True if a SIGINT came since the last call (and forget it).
function takeSigint() {
  contextify.startSigintWatchdog(); // nested start/stop: returns and clears
  return contextify.stopSigintWatchdog(); // the pending flag
}

const GO = Symbol.for('agentjail.go');
const goScript = new vm.Script('globalThis[Symbol.for("agentjail.go")]()');

class Interrupted extends Error {}
let interruptCell = null; // set while a cell runs: abandons it on SIGINT

// Evaluate code in REPL mode; resolves to {result} or {exceptionDetails}.
// The evaluation starts from a macrotask (setImmediate), never from inside a
// microtask: V8 drops every pending microtask when it terminates one, which
// would leave node's promises and process.nextTick queue broken for good.
function evaluate(code, filename) {
  return new Promise((resolve, reject) => {
    const params = {
      expression: `${code}\n//# sourceURL=${filename}`,
      replMode: true,
      awaitPromise: true, // wait for the cell's top-level awaits
      objectGroup: 'cell',
    };
    globalThis[GO] = () => session.post('Runtime.evaluate', params, (err, res) => (err ? reject(err) : resolve(res)));
    setImmediate(() => {
      takeSigint(); // one pending from before this cell was for an earlier one
      interruptCell = () => reject(new Interrupted());
      try {
        goScript.runInThisContext({ breakOnSigint: true });
      } catch (e) {
        // "Script execution was interrupted by `SIGINT`"
        reject(e instanceof Error && /SIGINT/.test(e.message) ? new Interrupted() : e);
      } finally {
        delete globalThis[GO];
      }
    });
  });
}

// A promise that also rejects when the cell is interrupted.
function abandonable(promise) {
  return new Promise((resolve, reject) => {
    interruptCell = () => reject(new Interrupted());
    promise.then(resolve, reject);
  });
}

// --- errors ------------------------------------------------------------------
// A stack without the driver's frames: they start at the inspector call.
function cleanStack(stack) {
  const lines = stack.split('\n');
  const cut = lines.findIndex((l) => /^\s+at .*(node:inspector|\[eval\])/.test(l));
  const kept = cut < 0 ? lines : lines.slice(0, cut);
  while (kept.length > 1 && /^\s+at .*\(node:internal\//.test(kept[kept.length - 1])) kept.pop();
  return kept.join('\n');
}

function errorEvent(id, thrown, details, code, filename) {
  if (!(thrown instanceof Error)) {
    const text = util.inspect(thrown);
    return { id, type: 'error', name: 'Uncaught', value: text, traceback: `Uncaught ${text}` };
  }
  const name = String(thrown.name);
  const value = String(thrown.message);
  let traceback = cleanStack(String(thrown.stack));
  if (details && thrown instanceof SyntaxError && !traceback.includes(filename)) {
    // V8 gives a syntax error no position in its stack: add it, node-style.
    // An error at the end of the input is past our sourceURL line.
    const lines = code.split('\n');
    let row = details.lineNumber;
    let col = details.columnNumber;
    if (row >= lines.length) {
      row = lines.length - 1;
      col = lines[row].length;
    }
    traceback = `${filename}:${row + 1}\n${lines[row]}\n${' '.repeat(col)}^\n\n${traceback}`;
  }
  return { id, type: 'error', name, value, traceback };
}

// Errors thrown later by code the cells started (timers, unhandled promise
// rejections) would kill node: report them on stderr instead, like the REPL.
function uncaught(e) {
  try {
    fs.writeSync(2, `Uncaught ${e instanceof Error ? e.stack : util.inspect(e)}\n`);
  } catch {}
}
process.on('uncaughtException', uncaught);
process.on('unhandledRejection', uncaught);

// --- running cells -----------------------------------------------------------
let count = 0; // execution_count

async function runCell(id, code, env) {
  count++;
  const filename = `<cell-${count}>`;
  const saved = {};
  for (const k of Object.keys(env)) saved[k] = process.env[k];
  Object.assign(process.env, env);
  let status = 'ok';
  let error = null;
  // While the cell waits on promises, a SIGINT is only noted: poll for it.
  const poll = setInterval(() => {
    if (interruptCell && takeSigint()) interruptCell();
  }, 20);
  try {
    const res = await evaluate(code, filename);
    const details = res.exceptionDetails;
    if (details) {
      const { value } = details.exception ? await valueOf(details.exception) : {};
      status = 'error';
      error = errorEvent(id, value, details, code, filename);
    } else {
      let { value } = await valueOf(res.result);
      if (util.types.isPromise(value)) {
        // REPL mode waits for the cell's own awaits, not for its value.
        try {
          value = await abandonable(value);
        } catch (e) {
          if (e instanceof Interrupted) throw e;
          status = 'error';
          error = errorEvent(id, e, null, code, filename);
          value = undefined;
        }
      }
      if (value !== undefined) {
        emit({ id, type: 'result', text: util.inspect(value), is_main_result: true });
      }
    }
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e; // a driver bug: see drain()
    status = 'interrupted';
    error = { id, type: 'error', name: 'KeyboardInterrupt', value: 'interrupted (SIGINT)', traceback: '' };
  } finally {
    clearInterval(poll);
    interruptCell = null;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    session.post('Runtime.releaseObjectGroup', { objectGroup: 'cell' });
  }
  if (error) emit(error);
  // process.stdout/stderr write synchronously to pipes: nothing to flush.
  emit({ id, type: 'end', execution_count: count, status });
}

function check(req) {
  if (typeof req.code !== 'string') return 'code must be a string';
  const env = req.env ?? {};
  if (typeof env !== 'object' || env === null || Array.isArray(env)) return 'env must be an object';
  for (const [k, v] of Object.entries(env)) {
    if (!k || /[=\0]/.test(k) || typeof v !== 'string' || v.includes('\0')) return `bad env entry ${JSON.stringify(k)}`;
  }
  return null;
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
    if (typeof req !== 'object' || req === null || !Number.isSafeInteger(req.id)) throw new Error('id must be an integer');
  } catch (e) {
    emit({ type: 'protocol_error', message: `bad request: ${e.message}` });
    return;
  }
  const bad = check(req);
  if (bad) {
    emit({ id: req.id, type: 'error', name: 'ProtocolError', value: bad, traceback: '' });
    emit({ id: req.id, type: 'end', execution_count: count, status: 'error' });
    return;
  }
  await runCell(req.id, req.code, req.env ?? {});
}

// Requests are run one at a time, in order.
const queue = [];
let running = false;
async function drain() {
  if (running) return;
  running = true;
  try {
    while (queue.length) await handle(queue.shift());
    if (closed) process.exit(0); // the manager closed the context
  } catch (e) {
    // A bug of the driver, not of the cell: die so the manager restarts us.
    fs.writeSync(2, `agentjail node driver: ${e && e.stack}\n`);
    process.exit(70);
  }
  running = false;
}

let pending = '';
let closed = false;
const input = new net.Socket({ fd: reqFd, readable: true, writable: false });
input.setEncoding('utf8');
input.on('data', (chunk) => {
  const lines = (pending + chunk).split('\n');
  pending = lines.pop();
  for (const line of lines) if (line.trim()) queue.push(line);
  drain();
});
input.on('end', () => {
  closed = true;
  drain();
});

emit({ type: 'ready', language: 'javascript', pid: process.pid });
})();
