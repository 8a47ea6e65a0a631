#!/usr/bin/env node
// Headless Chromium peer for tests/interop.rs, driven by playwright-core.
//
//   chromium_peer.js URL          the scenario against a wsproto server at URL
//   chromium_peer.js chat URL     two tabs on the chat example's page at URL
//   chromium_peer.js h2-echo URL [EXTENSIONS]
//                                 the page of integrations/hyper-echo at an https URL (a
//                                 self-signed certificate: --ignore-certificate-errors), then,
//                                 from that page, a WebSocket to the same origin (wss:), which
//                                 Chromium sends over the page's HTTP/2 connection (RFC 8441)
//                                 when the server enabled extended CONNECT; text and binary
//                                 echoes, a clean close with 1000. An http URL: the same over
//                                 HTTP/1.1. With EXTENSIONS (say `permessage-deflate`), the
//                                 page must log `extensions: EXTENSIONS…` and the scenario's
//                                 `ws.extensions` must start with it.
//
// Plays the client side of the scenario (tests/interop/driver.rs) with the browser's own
// `WebSocket` API, which can neither fragment nor ping: each message is sent whole, and the
// server's ping is answered by the browser itself. Records every readyState change and close
// event. In chat mode, both tabs connect, one posts, both must see the post, the poster
// closes (1000) and the other tab must see it leave. Prints "PASS" and exits 0, or
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
async function scenario(url) {
  const SIZES = [0, 125, 126, 65535, 65536, 4 << 20];
  const states = [];
  const payload = (text, size) => {
    if (text) {
      let s = 'aé€😀'.repeat(Math.floor(size / 10));
      const enc = new TextEncoder();
      for (const c of ['a', 'é', '€']) {
        if (enc.encode(s + c).length > size) break;
        s += c;
      }
      return s + 'z'.repeat(size - enc.encode(s).length);
    }
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = i % 251;
    return b;
  };
  const same = (a, b) => {
    if (typeof a === 'string') return a === b;
    if (!(b instanceof ArrayBuffer) || b.byteLength !== a.length) return false;
    const v = new Uint8Array(b);
    for (let i = 0; i < v.length; i++) if (v[i] !== a[i]) return false;
    return true;
  };
  const open = (label) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ['x-unknown', 'echo.v1']);
      ws.binaryType = 'arraybuffer';
      const items = [];
      const waiters = [];
      const push = (item) => (waiters.length ? waiters.shift()(item) : items.push(item));
      const note = (why) => states.push(`${label}:${why}:${ws.readyState}`);
      note('new');
      ws.onmessage = (e) => push({ type: 'message', data: e.data });
      ws.onclose = (e) => {
        note('close');
        push({ type: 'close', code: e.code, reason: e.reason, wasClean: e.wasClean });
      };
      ws.onerror = () => note('error');
      ws.onopen = () => {
        note('open');
        const next = () => (items.length ? Promise.resolve(items.shift()) : new Promise((r) => waiters.push(r)));
        resolve({ ws, next, note });
      };
      setTimeout(() => reject(new Error(`${label}: not open after 10 s`)), 10000);
    });

  let { ws, next, note } = await open('c1');
  if (ws.protocol !== 'echo.v1') throw new Error(`subprotocol echo.v1, got '${ws.protocol}'`);
  if (ws.extensions !== '') throw new Error(`no extension, got '${ws.extensions}'`);
  for (const text of [true, false]) {
    for (const size of SIZES) {
      const data = payload(text, size);
      ws.send(data);
      for (let i = 0; i < 2; i++) {
        const ev = await next();
        if (ev.type !== 'message' || !same(data, ev.data)) {
          throw new Error(`echo ${i} of ${text ? 'text' : 'binary'} ${size} B: ${ev.type}`);
        }
      }
    }
  }
  ws.send('ping-me');
  let ev = await next();
  if (ev.type !== 'message' || ev.data !== 'pong-seen:sp-1') throw new Error('server saw no pong');
  ws.close(4001, 'bye ✓ client');
  note('close()');
  ev = await next();
  if (ev.type !== 'close' || ev.code !== 4001 || !ev.wasClean) {
    throw new Error(`clean close 4001, got ${JSON.stringify(ev)}`);
  }

  ({ ws, next, note } = await open('c2'));
  ws.send('close-me');
  ev = await next();
  if (ev.type !== 'close' || ev.code !== 4002 || ev.reason !== 'bye ✓ server' || !ev.wasClean) {
    throw new Error(`clean server close 4002 'bye ✓ server', got ${JSON.stringify(ev)}`);
  }
  return states;
}

async function launch(extra = []) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...FLAGS, ...extra] });
}

// Runs inside the page: echoes through a WebSocket to `url`, closes with 1000; returns the
// socket's extensions, which must start with `extensions` if given.
async function echoScenario({ url, extensions }) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const items = [];
  const waiters = [];
  const push = (item) => (waiters.length ? waiters.shift()(item) : items.push(item));
  const next = () => (items.length ? Promise.resolve(items.shift()) : new Promise((r) => waiters.push(r)));
  ws.onmessage = (e) => push({ type: 'message', data: e.data });
  ws.onclose = (e) => push({ type: 'close', code: e.code, wasClean: e.wasClean });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('WebSocket error before open'));
  });
  if (extensions && !ws.extensions.startsWith(extensions)) {
    throw new Error(`extensions '${extensions}', got '${ws.extensions}'`);
  }
  const text = 'hello over h2 ✓';
  ws.send(text);
  let ev = await next();
  if (ev.type !== 'message' || ev.data !== text) throw new Error(`text echo, got ${JSON.stringify(ev)}`);
  const bytes = new Uint8Array(70000).map((_, i) => i % 251);
  ws.send(bytes);
  ev = await next();
  if (ev.type !== 'message' || !(ev.data instanceof ArrayBuffer) || ev.data.byteLength !== bytes.length ||
      !new Uint8Array(ev.data).every((b, i) => b === bytes[i])) {
    throw new Error(`binary echo, got ${ev.type}`);
  }
  ws.close(1000);
  ev = await next();
  if (ev.type !== 'close' || ev.code !== 1000 || !ev.wasClean) throw new Error(`clean close 1000, got ${JSON.stringify(ev)}`);
  return ws.extensions;
}

async function h2Echo(url, extensions) {
  const browser = await launch(['--ignore-certificate-errors']);
  try {
    const page = await browser.newPage();
    page.on('console', (message) => console.log(`console: ${message.text()}`));
    // The page first, so that its HTTP/2 connection (with the server's SETTINGS) exists.
    await page.goto(url);
    // The page's own script echoes "hello" and closes; wait for it.
    await page.waitForFunction(() => document.getElementById('log').textContent.includes('close'), null, { timeout: 10000 });
    const pageLog = await page.locator('#log').innerText();
    if (!pageLog.includes('echo: hello') || !pageLog.includes('close 1000 clean')) throw new Error(`page log: ${pageLog}`);
    if (extensions && !pageLog.includes(`extensions: ${extensions}`)) throw new Error(`page log: ${pageLog}`);
    console.log(`page: ${pageLog.replace(/\n/g, ' | ')}`);
    const seen = await page.evaluate(echoScenario, { url: url.replace(/^http/, 'ws'), extensions });
    console.log(`extensions: ${seen}`);
    console.log(`browser: ${browser.version()}`);
    console.log('PASS');
  } finally {
    await browser.close();
  }
}

async function main(url) {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    page.on('console', (message) => console.log(`console: ${message.text()}`));
    // The page comes from a loopback origin, as it would from a local application: Chromium
    // blocks public pages (about:blank included) from reaching loopback addresses (Local
    // Network Access checks). A Node HTTP server serves it; the wsproto server sees only the
    // WebSocket.
    const pages = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>interop</title>');
    });
    await new Promise((resolve) => pages.listen(0, '127.0.0.1', resolve));
    await page.goto(`http://127.0.0.1:${pages.address().port}/`);
    pages.close();
    const states = await page.evaluate(scenario, url);
    console.log(`readyState: ${states.join(' ')}`);
    console.log(`browser: ${browser.version()}`);
    console.log('PASS');
  } finally {
    await browser.close();
  }
}

async function chat(url) {
  const browser = await launch();
  try {
    const [a, b] = [await browser.newPage(), await browser.newPage()];
    const log = (page) => page.locator('#log').innerText();
    const waitFor = async (page, text, what) => {
      const deadline = Date.now() + 10000;
      while (!(await log(page)).includes(text)) {
        if (Date.now() > deadline) throw new Error(`${what}: no "${text}" in the log:\n${await log(page)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    for (const page of [a, b]) {
      await page.goto(url);
      await waitFor(page, 'readyState 1 OPEN: open', 'tab open');
    }
    await a.fill('#text', 'hello from tab A ✓');
    await a.press('#text', 'Enter');
    await waitFor(a, ': hello from tab A ✓', 'tab A sees its post');
    await waitFor(b, ': hello from tab A ✓', 'tab B sees the post');
    await a.click('#close');
    await waitFor(a, 'readyState 2 CLOSING: close(1000)', 'tab A closing');
    // The server's automatic reply echoes the code, without a reason.
    await waitFor(a, 'readyState 3 CLOSED: close: code 1000, wasClean true', 'tab A closed');
    await waitFor(b, 'left (1000)', 'tab B sees tab A leave');
    console.log('PASS');
  } finally {
    await browser.close();
  }
}

setTimeout(() => {
  console.log('FAIL: timeout after 120 s');
  process.exit(1);
}, 120000).unref();
const run = { chat, 'h2-echo': h2Echo }[process.argv[2]];
(run ? run(process.argv[3], process.argv[4]) : main(process.argv[2])).then(
  () => process.exit(0),
  (err) => {
    console.log(`FAIL: ${err.message || err}`);
    process.exit(1);
  },
);
