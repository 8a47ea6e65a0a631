#!/usr/bin/env node
// Node `ws` peer for tests/interop.rs (the scenario is described in tests/interop/driver.rs).
//
//   node_peer.js client URL   play the client side against a wsproto server; prints "PASS" and
//                             exits 0, or prints "FAIL: ..." and exits 1
//   node_peer.js echo-client URL  against a plain echo server (integrations/hyper-echo): text and
//                             binary messages come back as the same kind, a close with 1000 is
//                             answered with 1000; prints "PASS"
//   node_peer.js server       print "PORT <n>" once listening on 127.0.0.1, serve the scenario,
//                             print "CLOSED <subprotocol> <code> <reason>" per closed connection
//                             (the close frame received); exit when stdin closes
'use strict';
const WebSocket = require('ws');

const SIZES = [0, 125, 126, 65535, 65536, 4 << 20];

function payload(text, size) {
  if (text) {
    // Whole cycles of "aé€😀" (10 bytes), then what still fits of one, then 'z's.
    let s = 'aé€😀'.repeat(Math.floor(size / 10));
    for (const c of ['a', 'é', '€']) {
      if (Buffer.byteLength(s + c) > size) break;
      s += c;
    }
    const bytes = Buffer.from(s);
    return Buffer.concat([bytes, Buffer.alloc(size - bytes.length, 'z')]);
  }
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = i % 251;
  return b;
}

function thirds(buf) {
  const a = Math.floor(buf.length / 3);
  const b = Math.floor((2 * buf.length) / 3);
  return [buf.subarray(0, a), buf.subarray(a, b), buf.subarray(b)];
}

function fail(what) {
  console.log(`FAIL: ${what}`);
  process.exit(1);
}

// Events of one socket as a queue that can be awaited in order.
function queue(ws) {
  const items = [];
  const waiters = [];
  const push = (item) => (waiters.length ? waiters.shift()(item) : items.push(item));
  ws.on('message', (data, isBinary) => push({ type: 'message', data, isBinary }));
  ws.on('pong', (data) => push({ type: 'pong', data }));
  ws.on('close', (code, reason) => push({ type: 'close', code, reason: reason.toString() }));
  ws.on('error', (err) => push({ type: 'error', err }));
  return () => (items.length ? Promise.resolve(items.shift()) : new Promise((r) => waiters.push(r)));
}

function open(url) {
  const ws = new WebSocket(url, ['x-unknown', 'echo.v1'], { maxPayload: 64 << 20 });
  const next = queue(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, next }));
    ws.once('error', reject);
  });
}

async function client(url) {
  let { ws, next } = await open(url);
  if (ws.protocol !== 'echo.v1') fail(`subprotocol echo.v1, got ${ws.protocol}`);
  if (ws.extensions !== '') fail(`no extension, got ${ws.extensions}`);
  for (const text of [true, false]) {
    for (const size of SIZES) {
      const data = payload(text, size);
      for (const fragmented of [false, true]) {
        if (fragmented) {
          const [a, b, c] = thirds(data);
          ws.send(a, { binary: !text, fin: false });
          ws.send(b, { binary: !text, fin: false });
          ws.send(c, { binary: !text, fin: true });
        } else {
          ws.send(data, { binary: !text });
        }
        for (let i = 0; i < 2; i++) {
          const ev = await next();
          if (ev.type !== 'message' || ev.isBinary === text || !data.equals(ev.data)) {
            fail(`echo ${i} of ${text ? 'text' : 'binary'} ${size} B fragmented=${fragmented}: ${ev.type}`);
          }
        }
      }
    }
  }
  ws.ping(Buffer.from('cp-1'));
  let ev = await next();
  if (ev.type !== 'pong' || ev.data.toString() !== 'cp-1') fail(`pong cp-1, got ${ev.type}`);
  ws.send('ping-me');
  ev = await next();
  if (ev.type !== 'message' || ev.data.toString() !== 'pong-seen:sp-1') fail('server saw our auto-pong');
  ws.close(4001, 'bye ✓ client');
  ev = await next();
  if (ev.type !== 'close' || ev.code !== 4001) fail(`close echo 4001, got ${ev.type} ${ev.code}`);

  ({ ws, next } = await open(url));
  ws.send('close-me');
  ev = await next();
  if (ev.type !== 'close' || ev.code !== 4002 || ev.reason !== 'bye ✓ server') {
    fail(`server close 4002 'bye ✓ server', got ${ev.type} ${ev.code} ${ev.reason}`);
  }
  console.log('PASS');
  process.exit(0);
}

async function echoClient(url) {
  const ws = new WebSocket(url, { maxPayload: 64 << 20 });
  const next = queue(ws);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  for (const text of [true, false]) {
    for (const size of [0, 125, 126, 65536, 1 << 20]) {
      const data = payload(text, size);
      ws.send(data, { binary: !text });
      const ev = await next();
      if (ev.type !== 'message' || ev.isBinary === text || !data.equals(ev.data)) {
        fail(`echo of ${text ? 'text' : 'binary'} ${size} B as the same kind: ${ev.type}`);
      }
    }
  }
  ws.close(1000);
  const ev = await next();
  if (ev.type !== 'close' || ev.code !== 1000) fail(`close echo 1000, got ${ev.type} ${ev.code}`);
  console.log('PASS');
  process.exit(0);
}

function server() {
  const wss = new WebSocket.Server({
    host: '127.0.0.1',
    port: 0,
    maxPayload: 64 << 20,
    handleProtocols: (offered) => ['echo.v1', 'echo.v2'].find((p) => offered.has(p)) || false,
  });
  wss.on('listening', () => console.log(`PORT ${wss.address().port}`));
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'ping-me') {
        ws.ping(Buffer.from('sp-1'));
      } else if (!isBinary && data.toString() === 'close-me') {
        ws.close(4002, 'bye ✓ server');
      } else {
        ws.send(data, { binary: isBinary });
        const [a, b, c] = thirds(data);
        ws.send(a, { binary: isBinary, fin: false });
        ws.send(b, { binary: isBinary, fin: false });
        ws.send(c, { binary: isBinary, fin: true });
      }
    });
    ws.on('pong', (data) => {
      if (data.toString() === 'sp-1') ws.send('pong-seen:sp-1');
    });
    ws.on('close', (code, reason) => console.log(`CLOSED ${ws.protocol} ${code} ${reason.toString()}`));
  });
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

const [cmd, url] = process.argv.slice(2);
setTimeout(() => fail('timeout after 120 s'), 120000).unref();
if (cmd === 'client') {
  client(url).catch((err) => fail(err.stack || String(err)));
} else if (cmd === 'echo-client') {
  echoClient(url).catch((err) => fail(err.stack || String(err)));
} else if (cmd === 'server') {
  server();
} else {
  console.error('usage: node_peer.js client URL | echo-client URL | server');
  process.exit(2);
}
