#!/usr/bin/env python3
"""Python `websockets` peer for scripts/capture-handshakes/run.

  python-peer.py client URL [PROTO ...]   connect once (offering PROTOs), close, exit 0 on success
  python-peer.py server PORT_DEFAULT PORT_CHAT LIFETIME_S
        run two servers with default settings; the second is configured with
        subprotocols=["chat"]. Prints "ready" when both listen; exits after LIFETIME_S.
  python-peer.py version
"""
import asyncio
import sys

import websockets


def client(url, protocols):
    from websockets.sync.client import connect

    kwargs = {"open_timeout": 10, "close_timeout": 3}
    if protocols:
        kwargs["subprotocols"] = protocols
    with connect(url, **kwargs) as ws:
        print(f"websockets client: open, subprotocol={ws.subprotocol}", file=sys.stderr)
    return 0


async def server(port_default, port_chat, lifetime):
    from websockets.asyncio.server import serve

    async def handler(ws):
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", port_default), \
            serve(handler, "127.0.0.1", port_chat, subprotocols=["chat"]):
        print("ready", flush=True)
        await asyncio.sleep(lifetime)


def main():
    cmd = sys.argv[1]
    if cmd == "client":
        sys.exit(client(sys.argv[2], sys.argv[3:]))
    elif cmd == "server":
        asyncio.run(server(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
    elif cmd == "version":
        print(f"websockets {websockets.__version__} (Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
