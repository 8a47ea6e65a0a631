// Node `ws` peer for tests/deflate_interop.rs, like peer.py:
//   node peer.js server '<json options>'       echo server, prints its port
//   node peer.js client PORT '<json options>'  sends messages, checks echoes, prints OK
// Options: snct, cnct (bools), smwb, cmwb (int, true or null).
const path = require('path');
const crypto = require('crypto');
const { WebSocket, WebSocketServer } = require(path.join(process.env.WS_NODE_MODULES, 'ws'));

const [mode, a, b] = process.argv.slice(2);
const opts = JSON.parse(mode === 'server' ? a : b);
// `false` would make ws refuse a server's client_no_context_takeover, which RFC 7692 §7.1.1.2
// allows: leave unset options to ws's defaults.
const perMessageDeflate = { threshold: 0 };
if (opts.snct) perMessageDeflate.serverNoContextTakeover = true;
if (opts.cnct) perMessageDeflate.clientNoContextTakeover = true;
if (opts.smwb !== null) perMessageDeflate.serverMaxWindowBits = opts.smwb;
if (opts.cmwb !== null) perMessageDeflate.clientMaxWindowBits = opts.cmwb;

function messages() {
  return [
    'hello world '.repeat(1000),
    Buffer.from(Array.from({ length: 25600 }, (_, i) => i % 256)),
    'hi',
    '',
    'ünïcödé €€€ '.repeat(3000),
    crypto.randomBytes(5000),
    Buffer.alloc(300000),
  ];
}

if (mode === 'server') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate, maxPayload: 0 });
  wss.on('listening', () => console.log(wss.address().port));
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
} else {
  const ws = new WebSocket(`ws://127.0.0.1:${a}/`, { perMessageDeflate, maxPayload: 0 });
  const list = messages();
  let i = 0;
  ws.on('open', () => {
    if (!ws.extensions.includes('permessage-deflate')) {
      console.error('permessage-deflate was not negotiated');
      process.exit(1);
    }
    ws.send(list[0]);
  });
  ws.on('message', (data, isBinary) => {
    const sent = list[i];
    const same = typeof sent === 'string'
      ? !isBinary && data.toString('utf8') === sent
      : isBinary && Buffer.compare(data, sent) === 0;
    if (!same) {
      console.error(`echo ${i} differs`);
      process.exit(1);
    }
    i += 1;
    if (i < list.length) {
      ws.send(list[i]);
    } else {
      console.log('OK', ws.extensions);
      ws.close(1000);
    }
  });
  ws.on('close', () => process.exit(i === list.length ? 0 : 1));
  ws.on('error', (e) => { console.error(e); process.exit(1); });
}
