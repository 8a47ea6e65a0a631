#!/bin/sh
# Builds gcannon (the io_uring load generator of HttpArena) against a liburing built from source:
# Debian's liburing 2.3 lacks io_uring_free_buf_ring, which gcannon needs (liburing >= 2.4).
# No third-party source is kept in this repository; point at checkouts of your own:
#
#   LIBURING_SRC=/path/to/liburing   (a checkout of axboe/liburing, tag liburing-2.4 or later)
#   GCANNON_SRC=/path/to/gcannon     (a checkout of MDA2AV/gcannon)
#   benches/scale/build-gcannon.sh
#
# Both are built out of tree into $OUT (default benches/scale/target/gcannon, ignored by git);
# liburing is linked statically, so $OUT/gcannon runs without installing anything.
set -eu
cd "$(dirname "$0")"
: "${LIBURING_SRC:?set LIBURING_SRC to a liburing checkout (>= 2.4)}"
: "${GCANNON_SRC:?set GCANNON_SRC to a gcannon checkout}"
OUT=${OUT:-$PWD/target/gcannon}
JOBS=${JOBS:-2}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# liburing: copied so that its in-tree build leaves the checkout clean.
rm -rf "$OUT/liburing-build" "$OUT/gcannon-build"
cp -a "$LIBURING_SRC" "$OUT/liburing-build"
(cd "$OUT/liburing-build" && ./configure --prefix="$OUT/liburing" >/dev/null \
    && make -s -j"$JOBS" -C src >/dev/null && make -s install >/dev/null)

cp -a "$GCANNON_SRC" "$OUT/gcannon-build"
make -s -C "$OUT/gcannon-build" -j"$JOBS" \
    CFLAGS="-O2 -Wall -march=native -Iinclude -DUSE_PICO -Iexternal/picohttpparser -I$OUT/liburing/include" \
    LDFLAGS="$OUT/liburing/lib/liburing.a -lpthread"
cp "$OUT/gcannon-build/gcannon" "$OUT/gcannon"
echo "built $OUT/gcannon"
