#!/usr/bin/env bash
# The cost of feature `deflate` on the uncompressed paths, in instructions (valgrind, so the
# machine's load does not matter): builds this crate without (A) and with (B) the feature, then
# counts the instructions of one 1 MiB round of each case as (3 rounds − 1 round) / 2, which
# leaves out setup. Prints "case size A B B−A (per message)".
set -euo pipefail
cd "$(dirname "$0")"
TARGET=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release -q
cp "$TARGET/release/wsproto-icount" "$work/A"
cargo build --release -q --features deflate
cp "$TARGET/release/wsproto-icount" "$work/B"
ir() {
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" 2>&1 |
        grep 'I *refs' | tr -d ',' | awk '{print $NF}'
}
round() { echo $(( ($(ir "$work/$1" "$2" "$3" 3) - $(ir "$work/$1" "$2" "$3" 1)) / 2 )); }
for case in receive send; do
    for size in 16 1024 65536; do
        a=$(round A "$case" "$size")
        b=$(round B "$case" "$size")
        echo "$case $size $a $b $((b - a)) ($(awk "BEGIN { printf \"%.3f\", ($b - $a) / (1048576 / $size) }"))"
    done
done
