#!/usr/bin/env node
// Headless Chromium peer for tests/deflate_interop.rs, driven by playwright-core:
//
//   chromium_peer.js URL CONNECTIONS
//
// The page opens CONNECTIONS WebSockets to the wsproto server at URL, one after the other
// (the server accepts each with different permessage-deflate parameters). Chromium offers
// `permessage-deflate; client_max_window_bits` by itself. On each connection the page:
//
// 1. checks that `ws.extensions` names permessage-deflate and sends it as `extensions:<value>`;
// 2. sends each message of `messages()` and checks that the echo is the same message (the
//    server sends it back compressed, some fragmented: Chromium must inflate it);
// 3. sends `send-yours`, then receives the server's own messages until the text `done`, and
//    answers with `sums:` and the FNV-1a 32 of each message's bytes (text as UTF-8) and its size;
// 4. closes with 1000 and waits for a clean close.
//
// Prints one `connection N: <extensions>` line per connection, then "PASS" and exits 0, or
// "FAIL: ..." and exits 1.
'use strict';
const http = require('http');
const { chromium } = require('playwright-core');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Runs inside the page.
async function scenario({ url, connections }) {
  // xorshift32: the same bytes every run.
  let seed = 2463534242;
  const random = () => {
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed;
  };
  // JSON-like records with non-ASCII text: compressible, as a chat or API feed is.
  const json = (size) => {
    const names = ['Zoë', 'Jürgen', 'Małgorzata', 'Søren', '李雷', 'Ана'];
    let s = '[';
    for (let id = 0; s.length < size; id++) {
      const r = random();
      s += `{"id":${id},"user":"${names[r % names.length]}","score":${r % 1000},` +
        `"tags":["ws","deflate"],"text":"message ${r % 97} ✓"},`;
    }
    return s.slice(0, size);
  };
  const noise = (size) => {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = random() & 0xff;
    return b;
  };
  const pattern = (size) => {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = i % 251;
    return b;
  };
  const messages = () => [
    'hi ✓',
    '',
    json(2000),
    json(1 << 20),
    new Uint8Array([1, 2, 3]),
    pattern(64 << 10),
    noise(1 << 20),
    noise(3000),
  ];
  const same = (a, b) => {
    if (typeof a === 'string') return a === b;
    if (!(b instanceof ArrayBuffer) || b.byteLength !== a.length) return false;
    const v = new Uint8Array(b);
    for (let i = 0; i < v.length; i++) if (v[i] !== a[i]) return false;
    return true;
  };
  const fnv1a = (data) => {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data);
    let h = 0x811c9dc5;
    for (let i = 0; i < bytes.length; i++) {
      h ^= bytes[i];
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return `${h.toString(16)}/${bytes.length}`;
  };
  const open = (label) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      const items = [];
      const waiters = [];
      const push = (item) => (waiters.length ? waiters.shift()(item) : items.push(item));
      ws.onmessage = (e) => push({ type: 'message', data: e.data });
      ws.onclose = (e) => push({ type: 'close', code: e.code, reason: e.reason, wasClean: e.wasClean });
      ws.onerror = () => reject(new Error(`${label}: error event`));
      ws.onopen = () => {
        const next = () => (items.length ? Promise.resolve(items.shift()) : new Promise((r) => waiters.push(r)));
        resolve({ ws, next });
      };
      setTimeout(() => reject(new Error(`${label}: not open after 10 s`)), 10000);
    });

  const log = [];
  for (let c = 0; c < connections; c++) {
    const label = `connection ${c}`;
    const { ws, next } = await open(label);
    if (!ws.extensions.includes('permessage-deflate')) {
      throw new Error(`${label}: permessage-deflate not negotiated, extensions '${ws.extensions}'`);
    }
    ws.send(`extensions:${ws.extensions}`);
    const list = messages();
    for (let i = 0; i < list.length; i++) {
      ws.send(list[i]);
      const ev = await next();
      if (ev.type !== 'message' || !same(list[i], ev.data)) {
        throw new Error(`${label}: echo of message ${i} differs (${ev.type})`);
      }
    }
    ws.send('send-yours');
    const sums = [];
    for (;;) {
      const ev = await next();
      if (ev.type !== 'message') throw new Error(`${label}: ${JSON.stringify(ev)} before done`);
      if (ev.data === 'done') break;
      sums.push(fnv1a(ev.data));
    }
    ws.send(`sums:${sums.join(' ')}`);
    ws.close(1000);
    const ev = await next();
    if (ev.type !== 'close' || ev.code !== 1000 || !ev.wasClean) {
      throw new Error(`${label}: clean close 1000, got ${JSON.stringify(ev)}`);
    }
    log.push(`${label}: ${ws.extensions}`);
  }
  return log;
}

async function main(url, connections) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
  try {
    const page = await browser.newPage();
    page.on('console', (message) => console.log(`console: ${message.text()}`));
    // A loopback origin: Chromium blocks public pages (about:blank included) from reaching
    // loopback addresses (Local Network Access checks).
    const pages = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>deflate interop</title>');
    });
    await new Promise((resolve) => pages.listen(0, '127.0.0.1', resolve));
    await page.goto(`http://127.0.0.1:${pages.address().port}/`);
    pages.close();
    const log = await page.evaluate(scenario, { url, connections });
    for (const line of log) console.log(line);
    console.log(`browser: ${browser.version()}`);
    console.log('PASS');
  } finally {
    await browser.close();
  }
}

setTimeout(() => {
  console.log('FAIL: timeout after 120 s');
  process.exit(1);
}, 120000).unref();
main(process.argv[2], Number(process.argv[3])).then(
  () => process.exit(0),
  (err) => {
    console.log(`FAIL: ${err.message || err}`);
    process.exit(1);
  },
);
