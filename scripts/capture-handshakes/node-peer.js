#!/usr/bin/env node
// Node `ws` peer for scripts/capture-handshakes/run.
//
//   node-peer.js client URL [PROTO ...]  connect once (offering PROTOs), close, exit 0 on success
//   node-peer.js server PORT_DEFAULT PORT_CHAT PORT_DEFLATE LIFETIME_S
//       three WebSocketServers: default options; handleProtocols selecting "chat";
//       and perMessageDeflate: true (ws servers default to perMessageDeflate: false).
//       Prints "ready" when all listen; exits after LIFETIME_S.
//   node-peer.js version
'use strict';
const WebSocket = require('ws');

const [cmd, ...args] = process.argv.slice(2);

if (cmd === 'client') {
  const [url, ...protocols] = args;
  const ws = protocols.length ? new WebSocket(url, protocols) : new WebSocket(url);
  const timer = setTimeout(() => { console.error('ws client: timeout'); process.exit(1); }, 10000);
  ws.on('open', () => {
    console.error(`ws client: open, protocol=${ws.protocol} extensions=${ws.extensions}`);
    ws.close(1000);
  });
  ws.on('close', () => { clearTimeout(timer); process.exit(0); });
  ws.on('error', (e) => { console.error('ws client: error', e.message); process.exit(1); });
} else if (cmd === 'server') {
  const [pDefault, pChat, pDeflate, lifetime] = args.map(Number);
  const servers = [
    new WebSocket.Server({ host: '127.0.0.1', port: pDefault }),
    new WebSocket.Server({
      host: '127.0.0.1', port: pChat,
      handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
    }),
    new WebSocket.Server({ host: '127.0.0.1', port: pDeflate, perMessageDeflate: true }),
  ];
  let listening = 0;
  for (const s of servers) {
    s.on('listening', () => { if (++listening === servers.length) console.log('ready'); });
    s.on('error', (e) => { console.error('ws server: error', e.message); process.exit(1); });
    s.on('connection', (ws) => { ws.on('error', () => {}); });
  }
  setTimeout(() => process.exit(0), lifetime * 1000);
} else if (cmd === 'version') {
  console.log(`ws ${require('ws/package.json').version} (Node ${process.version})`);
} else {
  console.error('usage: node-peer.js client URL [PROTO...] | server P1 P2 P3 SECS | version');
  process.exit(2);
}
