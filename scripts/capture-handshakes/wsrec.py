#!/usr/bin/env python3
"""Raw-socket WebSocket handshake recorder for wsproto's test vectors.

Standard library only. Every wait is bounded. Subcommands:

  record-client --port P --out FILE [--accept-timeout S]
      Listen on 127.0.0.1:P for ONE connection, save the request head the client
      sends (request line through the blank line, bytes exactly as received),
      answer with a correct "101 Switching Protocols" (echoing the first offered
      subprotocol, no extensions), send a Close frame (1000), wait briefly for
      the client's Close, then close the socket. Exit 0 iff a head was captured.

  probe-server --port P --out FILE [--protocols V] [--extensions V]
               [--version V] [--mode head|all] [--connect-timeout S]
      Connect to 127.0.0.1:P (retrying until the server listens), send a fixed
      RFC 6455 section 1.2 style request, and save what the server answers:
        head: the response head only (status line through the blank line);
        all:  everything until the server closes, 4 KiB or 2 s of silence.
      The exact request bytes are also written to FILE.request when
      --save-request is given.

  serve-page --port P [--timeout S]
      Serve the Chromium driver page on 127.0.0.1:P. GET /page?ws=URL[&protocols=a,b]
      returns HTML that opens new WebSocket(URL[, protocols]) and reports the
      outcome in the DOM; its <img src="/hold"> is answered only after 3 s so the
      page's load event (and so `chromium --dump-dom`) waits for the handshake.
"""

import argparse
import base64
import hashlib
import html
import http.server
import json
import socket
import sys
import threading
import time
import urllib.parse

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HEAD_END = b"\r\n\r\n"
CAP = 4096


def log(*a):
    print("wsrec:", *a, file=sys.stderr, flush=True)


def read_head(sock, deadline):
    """Read until CRLFCRLF; return (head_including_blank_line, extra_bytes)."""
    buf = b""
    while HEAD_END not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or len(buf) > CAP:
            raise TimeoutError(f"no complete head (got {len(buf)} bytes)")
        sock.settimeout(remaining)
        chunk = sock.recv(CAP)
        if not chunk:
            raise ConnectionError(f"peer closed before end of head (got {len(buf)} bytes)")
        buf += chunk
    i = buf.index(HEAD_END) + len(HEAD_END)
    return buf[:i], buf[i:]


def header_values(head, name):
    out = []
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            if k.strip().lower() == name.lower():
                out.append(v.strip())
    return out


def cmd_record_client(args):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(4)
    srv.settimeout(args.accept_timeout)
    print("ready", flush=True)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        log(f"no client connected to port {args.port} within {args.accept_timeout}s")
        return 1
    finally:
        srv.close()
    with conn:
        try:
            head, extra = read_head(conn, time.monotonic() + 10)
        except (TimeoutError, ConnectionError, OSError) as e:
            log("record-client:", e)
            return 1
        with open(args.out, "wb") as f:
            f.write(head)
        if extra:
            log(f"note: {len(extra)} byte(s) followed the request head: {extra[:64]!r}")
        keys = header_values(head, b"sec-websocket-key")
        if len(keys) != 1:
            log("record-client: request has no single Sec-WebSocket-Key; not answering")
            return 1
        accept = base64.b64encode(hashlib.sha1(keys[0] + GUID).digest())
        resp = [
            b"HTTP/1.1 101 Switching Protocols",
            b"Upgrade: websocket",
            b"Connection: Upgrade",
            b"Sec-WebSocket-Accept: " + accept,
        ]
        protos = [p.strip() for v in header_values(head, b"sec-websocket-protocol") for p in v.split(b",")]
        if protos and protos[0]:
            resp.append(b"Sec-WebSocket-Protocol: " + protos[0])
        conn.sendall(b"\r\n".join(resp) + HEAD_END)
        # Unmasked server Close frame, status 1000.
        try:
            conn.sendall(b"\x88\x02\x03\xe8")
            conn.settimeout(2)
            conn.recv(CAP)  # the client's (masked) Close, or EOF; content not needed
        except OSError:
            pass
    log(f"captured {len(head)} bytes -> {args.out}")
    return 0


def build_request(port, protocols, extensions, version):
    lines = [
        "GET /chat HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Origin: http://example.com",
    ]
    if protocols:
        lines.append(f"Sec-WebSocket-Protocol: {protocols}")
    if extensions:
        lines.append(f"Sec-WebSocket-Extensions: {extensions}")
    lines.append(f"Sec-WebSocket-Version: {version}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def connect_retry(port, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError as e:
            if time.monotonic() > deadline:
                raise TimeoutError(f"cannot connect to 127.0.0.1:{port}: {e}")
            time.sleep(0.1)


def cmd_probe_server(args):
    req = build_request(args.port, args.protocols, args.extensions, args.version)
    if args.save_request:
        with open(args.out + ".request", "wb") as f:
            f.write(req)
    try:
        sock = connect_retry(args.port, args.connect_timeout)
    except TimeoutError as e:
        log("probe-server:", e)
        return 1
    with sock:
        sock.sendall(req)
        if args.mode == "head":
            try:
                data, extra = read_head(sock, time.monotonic() + 5)
            except (TimeoutError, ConnectionError, OSError) as e:
                log("probe-server:", e)
                return 1
            if extra:
                log(f"note: {len(extra)} byte(s) followed the response head: {extra[:64]!r}")
        else:
            data = b""
            deadline = time.monotonic() + 2
            while len(data) < CAP:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log("note: stopped reading after 2 s (server had not closed)")
                    break
                sock.settimeout(remaining)
                try:
                    chunk = sock.recv(CAP - len(data))
                except socket.timeout:
                    log("note: stopped reading after 2 s (server had not closed)")
                    break
                except ConnectionResetError:
                    log("note: connection reset by server")
                    break
                if not chunk:
                    break
                data += chunk
    with open(args.out, "wb") as f:
        f.write(data)
    log(f"captured {len(data)} bytes -> {args.out}")
    return 0


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>wsproto handshake capture</title></head>
<body>
<p id="status">pending</p>
<script>
  const url = {url};
  const protocols = {protocols};
  const status = document.getElementById("status");
  let ws;
  try {{
    ws = protocols.length ? new WebSocket(url, protocols) : new WebSocket(url);
    ws.onopen = () => {{ status.textContent = "open protocol=" + ws.protocol + " extensions=" + ws.extensions; }};
    ws.onerror = () => {{ if (!status.textContent.startsWith("open")) status.textContent = "error"; }};
  }} catch (e) {{
    status.textContent = "exception " + e;
  }}
</script>
<img src="/hold" alt="">
</body></html>
"""


class PageHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        log("serve-page:", fmt % a)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/page":
            q = urllib.parse.parse_qs(u.query)
            url = q.get("ws", [""])[0]
            protocols = [p for p in q.get("protocols", [""])[0].split(",") if p]
            body = PAGE.format(url=json.dumps(url), protocols=json.dumps(protocols)).encode()
            ctype = "text/html; charset=utf-8"
        elif u.path == "/hold":
            time.sleep(3)
            body = base64.b64decode(  # 1x1 transparent GIF
                "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
            ctype = "image/gif"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def cmd_serve_page(args):
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), PageHandler)
    srv.daemon_threads = True
    threading.Timer(args.timeout, srv.shutdown).start()
    print("ready", flush=True)
    srv.serve_forever()
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("record-client")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--accept-timeout", type=float, default=20)

    s = sub.add_parser("probe-server")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--protocols")
    s.add_argument("--extensions")
    s.add_argument("--version", default="13")
    s.add_argument("--mode", choices=["head", "all"], default="head")
    s.add_argument("--connect-timeout", type=float, default=15)
    s.add_argument("--save-request", action="store_true")

    g = sub.add_parser("serve-page")
    g.add_argument("--port", type=int, required=True)
    g.add_argument("--timeout", type=float, default=120)

    args = p.parse_args()
    fn = {"record-client": cmd_record_client, "probe-server": cmd_probe_server,
          "serve-page": cmd_serve_page}[args.cmd]
    sys.exit(fn(args))


if __name__ == "__main__":
    main()
