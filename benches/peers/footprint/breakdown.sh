#!/bin/sh
# Where the flash of a minimal client goes: its code and read-only data by crate and module
# (wsproto by module, the handshake by file), then the largest symbols. Run size.sh first (it
# builds both clients); then `./breakdown.sh` (wsproto's client) or
# `./breakdown.sh embedded-websocket-client`. Needs llvm-nm and python3.
set -e
cd "$(dirname "$0")"
client=${1:-wsproto-client}
T=${CARGO_TARGET_DIR:-$(pwd)/target}/footprint
llvm-nm --size-sort -S -C --radix=d "$T/thumbv7em-none-eabihf/release/footprint-$client" | python3 -c '
import collections, re, sys
groups, symbols = collections.Counter(), []
for line in sys.stdin:
    fields = line.split(None, 3)
    if len(fields) < 4 or fields[2] not in "tTrR":
        continue
    size, kind, name = int(fields[1]), fields[2], re.sub(r"::h[0-9a-f]{16}$", "", fields[3].strip())
    if kind in "rR":
        group = "(read-only data)"
    else:
        path = re.sub(r"^_?\$LT\$|<", "", name).replace("..", "::").split("::")
        if path[0] == "wsproto":
            group = "::".join(path[:3] if path[1] == "handshake" else path[:2])
        elif path[0].startswith(("__aeabi", "mem")):
            group = "compiler_builtins"
        else:
            group = path[0]
    groups[group] += size
    symbols.append((size, name))
print("%6d B  total" % sum(groups.values()))
for group, size in groups.most_common(25):
    print("%6d B  %s" % (size, group))
print()
for size, name in sorted(symbols, reverse=True)[:25]:
    print("%6d B  %s" % (size, name))
'
