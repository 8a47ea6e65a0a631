#!/bin/sh
# The socket load run: both echo servers on 127.0.0.1, the same load generator against each
# (100 connections, 16 B then 64 KiB binary messages, 10 s each, at most 1 000 000 messages per
# connection). Usage: scripts/load.sh [connections] [seconds]
set -e
cd "$(dirname "$0")/.."
C=${1:-100}
S=${2:-10}
cargo build -q --release --bin echo_wsproto --bin echo_tungstenite --bin loadgen
B=${CARGO_TARGET_DIR:-target}/release
$B/echo_wsproto 127.0.0.1:9101 2>/dev/null & WS=$!
$B/echo_tungstenite 127.0.0.1:9102 2>/dev/null & TG=$!
trap 'kill $WS $TG' EXIT
sleep 1
for size in 16 65536; do
    $B/loadgen ws://127.0.0.1:9101/ $C $size $S 1000000
    $B/loadgen ws://127.0.0.1:9102/ $C $size $S 1000000
done
