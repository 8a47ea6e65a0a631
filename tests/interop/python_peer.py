#!/usr/bin/env python3
"""Python `websockets` peer for tests/interop.rs.

  python_peer.py client URL [--echo-only]
      Run the interop scenario against a wsproto server (see tests/interop.rs), asserting
      everything seen on this side. Prints "PASS" and exits 0, or prints what failed and
      exits 1. --echo-only: the server only echoes each message once (the echo_server
      example), so skip the server-side commands.
  python_peer.py echo-client URL
      Against a plain echo server (integrations/hyper-echo): text and binary messages come
      back as the same kind, then a close with 1000 is answered with 1000. Prints "PASS".
  python_peer.py server
      Serve the scenario: print "PORT <n>" once listening on 127.0.0.1 (a free port), then
      for each connection echo every message twice (whole, then in three fragments), answer
      "ping-me" and "close-me", and print "CLOSED <subprotocol> <code> <reason>" with the
      close frame received once the connection is closed. Exits when stdin closes.
"""
import asyncio
import sys

SIZES = [0, 125, 126, 65535, 65536, 4 << 20]
SUBPROTOCOLS = ["x-unknown", "echo.v1"]


def payload(text, size):
    """`size` bytes: UTF-8 text mixing 1- to 4-byte characters, or a binary pattern."""
    if text:
        pattern = "aé€😀" * (size // 10 + 1)
        data = pattern.encode()[:size].decode("utf-8", "ignore").encode()
        return (data + b"z" * (size - len(data))).decode()
    # A period of 251 (a prime) so that no two 256-byte blocks look alike.
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def thirds(data):
    """Three fragments cut at a third and two thirds (of the bytes: text is cut inside
    characters on purpose)."""
    raw = data.encode() if isinstance(data, str) else data
    a, b = len(raw) // 3, 2 * len(raw) // 3
    return [raw[:a], raw[a:b], raw[b:]]


def check(what, ok):
    if not ok:
        print(f"FAIL: {what}", flush=True)
        sys.exit(1)


def client(url, echo_only):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    kwargs = dict(subprotocols=SUBPROTOCOLS, max_size=None, open_timeout=10, close_timeout=10)
    with connect(url, **kwargs) as ws:
        offered = ws.request.headers.get("Sec-WebSocket-Extensions") or ""
        check("websockets offers permessage-deflate", "permessage-deflate" in offered)
        check(
            "no Sec-WebSocket-Extensions in the 101",
            ws.response.headers.get("Sec-WebSocket-Extensions") is None,
        )
        if not echo_only:
            check(f"subprotocol echo.v1, got {ws.subprotocol}", ws.subprotocol == "echo.v1")
        echoes = 1 if echo_only else 2
        for text in (True, False):
            for size in SIZES:
                data = payload(text, size)
                for fragmented in (False, True):
                    ws.send(thirds(data) if fragmented else data, text=text)
                    for i in range(echoes):
                        got = ws.recv(timeout=20)
                        check(
                            f"echo {i} of {'text' if text else 'binary'} {size} B "
                            f"{'fragmented' if fragmented else 'whole'}",
                            got == data,
                        )
        check("pong for ping cp-1", ws.ping(b"cp-1").wait(10))
        if not echo_only:
            ws.send("ping-me")
            check("server saw our auto-pong", ws.recv(timeout=10) == "pong-seen:sp-1")
        ws.close(4001, "bye ✓ client")
        rcvd = ws.protocol.close_rcvd
        check(f"close echo 4001, got {rcvd}", rcvd is not None and rcvd.code == 4001)
    if not echo_only:
        with connect(url, **kwargs) as ws:
            ws.send("close-me")
            try:
                ws.recv(timeout=10)
                check("server closed", False)
            except ConnectionClosed:
                pass
            rcvd = ws.protocol.close_rcvd
            check(
                f"server close 4002 'bye ✓ server', got {rcvd}",
                rcvd is not None and rcvd.code == 4002 and rcvd.reason == "bye ✓ server",
            )
    print("PASS", flush=True)


def echo_client(url):
    from websockets.sync.client import connect

    with connect(url, max_size=None, open_timeout=10, close_timeout=10) as ws:
        for text in (True, False):
            for size in (0, 125, 126, 65536, 1 << 20):
                data = payload(text, size)
                ws.send(data, text=text)
                got = ws.recv(timeout=20)
                check(
                    f"echo of {'text' if text else 'binary'} {size} B as the same kind",
                    type(got) is type(data) and got == data,
                )
        ws.close(1000)
        rcvd = ws.protocol.close_rcvd
        check(f"close echo 1000, got {rcvd}", rcvd is not None and rcvd.code == 1000)
    print("PASS", flush=True)


async def server():
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    async def handler(ws):
        try:
            async for message in ws:
                if message == "ping-me":
                    await (await ws.ping(b"sp-1"))
                    await ws.send("pong-seen:sp-1")
                elif message == "close-me":
                    await ws.close(4002, "bye ✓ server")
                else:
                    await ws.send(message)
                    await ws.send(thirds(message), text=isinstance(message, str))
        except ConnectionClosed:
            pass
        await ws.wait_closed()
        rcvd = ws.protocol.close_rcvd
        code, reason = (rcvd.code, rcvd.reason) if rcvd else ("none", "")
        print(f"CLOSED {ws.subprotocol} {code} {reason}", flush=True)

    async with serve(
        handler, "127.0.0.1", 0, subprotocols=["echo.v1", "echo.v2"], max_size=None
    ) as srv:
        port = srv.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        # Serve until the test closes our stdin.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main():
    if sys.argv[1] == "client":
        client(sys.argv[2], "--echo-only" in sys.argv[3:])
    elif sys.argv[1] == "echo-client":
        echo_client(sys.argv[2])
    elif sys.argv[1] == "server":
        asyncio.run(server())
    else:
        sys.exit("usage: python_peer.py client URL [--echo-only] | echo-client URL | server")


if __name__ == "__main__":
    main()
