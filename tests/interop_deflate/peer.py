"""Python `websockets` peer for tests/deflate_interop.rs.

    peer.py server '<json options>'   echo server on 127.0.0.1, prints its port, runs until killed
    peer.py client PORT '<json options>'   sends messages, checks the echoes, prints the
                                          negotiated extension and exits 0 if all came back

Options: snct, cnct (bools), smwb, cmwb (int, true or null): the permessage-deflate factory's
server/client no_context_takeover and max_window_bits.
"""

import asyncio
import json
import os
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)


def messages():
    yield "hello world " * 1000
    yield bytes(range(256)) * 100
    yield "hi"
    yield ""
    yield "ünïcödé €€€ " * 3000
    yield os.urandom(5000)
    yield b"\x00" * 300_000


async def run_server(opts):
    factory = ServerPerMessageDeflateFactory(
        server_no_context_takeover=opts["snct"],
        client_no_context_takeover=opts["cnct"],
        server_max_window_bits=opts["smwb"],
        client_max_window_bits=opts["cmwb"],
    )

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 0, extensions=[factory], compression=None,
                     max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await server.serve_forever()


async def run_client(port, opts):
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=opts["snct"],
        client_no_context_takeover=opts["cnct"],
        server_max_window_bits=opts["smwb"],
        client_max_window_bits=opts["cmwb"],
    )
    async with connect(f"ws://127.0.0.1:{port}/", extensions=[factory], compression=None,
                       max_size=None) as ws:
        extensions = ws.protocol.extensions
        assert extensions, "permessage-deflate was not negotiated"
        for message in messages():
            await ws.send(message)
            echo = await ws.recv()
            assert echo == message, f"echo differs for a message of {len(message)}"
        # A fragmented message.
        parts = ["frag " * 100, "ment " * 100, "ed"]
        await ws.send(iter(parts))
        assert await ws.recv() == "".join(parts)
        print("OK", extensions[0], flush=True)


def main():
    if sys.argv[1] == "server":
        asyncio.run(run_server(json.loads(sys.argv[2])))
    else:
        asyncio.run(run_client(int(sys.argv[2]), json.loads(sys.argv[3])))


main()
