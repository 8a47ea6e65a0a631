#!/usr/bin/env python3
"""A tiny stand-in for Autobahn|Testsuite's fuzzing server (which is Python 2 and not
installable here), enough to test examples/autobahn_client.rs speaking its protocol:

  GET /getCaseCount                  one text message, "3", then a close
  GET /runCase?case=N&agent=AGENT    case N (below); prints "CASE N OK" or "CASE N FAILED: ..."
  GET /updateReports?agent=AGENT     prints "REPORTS agent=AGENT", closes, and exits 0

Cases: 1 echoes a text and a 64 KiB binary message; 2 echoes a text message fragmented inside
a UTF-8 character, answers a ping and echoes an empty binary message; 3 sends invalid UTF-8 in a
text message and expects the client to fail the connection with 1007 (a failed case, after
which the client must go on). Prints "PORT <n>" once listening on 127.0.0.1.
"""
import asyncio
import sys
from urllib.parse import parse_qs, urlsplit

import websockets
from websockets.asyncio.server import serve


async def expect_echo(ws, message):
    got = await asyncio.wait_for(ws.recv(), 10)
    if got != message:
        raise AssertionError(f"echo differs: {got[:40]!r}")


async def case_1(ws):
    for message in ["Hello, wsproto ✓", bytes(range(256)) * 256]:
        await ws.send(message)
        await expect_echo(ws, message)
    await ws.close(1000)
    return ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000


async def case_2(ws):
    raw = "fragmented ✓ text".encode()
    cut = raw.index("✓".encode()) + 1  # inside the check mark
    await ws.send([raw[:cut], raw[cut:]], text=True)
    await expect_echo(ws, raw.decode())
    await asyncio.wait_for(await ws.ping(b"case 2"), 10)
    await ws.send(b"")
    await expect_echo(ws, b"")
    await ws.close(1000)
    return ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000


async def case_3(ws):
    # "κόσμε" followed by a UTF-16 surrogate (ED A0 80), invalid in UTF-8.
    await ws.send(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", text=True)
    await asyncio.wait_for(ws.wait_closed(), 10)
    return ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1007


CASES = {1: case_1, 2: case_2, 3: case_3}


async def main():
    done = asyncio.Event()
    running = set()

    async def handler(ws):
        url = urlsplit(ws.request.path)
        query = parse_qs(url.query)
        if url.path == "/getCaseCount":
            await ws.send(str(len(CASES)))
            await ws.close()
        elif url.path == "/runCase":
            case = int(query["case"][0])
            running.add(case)
            try:
                ok = await CASES[case](ws)
                result = "OK" if ok else f"FAILED: close frame {ws.protocol.close_rcvd}"
            except (AssertionError, asyncio.TimeoutError, websockets.ConnectionClosed) as err:
                result = f"FAILED: {err!r}"
            print(f"CASE {case} {result} (agent={query['agent'][0]})", flush=True)
            running.discard(case)
        elif url.path == "/updateReports":
            # Like Autobahn, report once every case's connection has ended.
            while running:
                await asyncio.sleep(0.01)
            print(f"REPORTS agent={query['agent'][0]}", flush=True)
            await ws.close()
            done.set()
        else:
            await ws.close(1008, "unknown path")

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.wait_for(done.wait(), 60)
        await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(main())
