# Sourced by memory.sh and throughput.sh: the servers of the kit, by name, and how to start one.
# The order of ALL_SERVERS is the order of every table.

ALL_SERVERS="tokio-tungstenite fastwebsockets tokio-websockets wsproto-tokio wsproto-uring floor-tcp"

# The binary (under target/release) of a server name.
binary_of() {
    case "$1" in
        tokio-tungstenite) echo echo_tungstenite ;;
        fastwebsockets) echo echo_fastwebsockets ;;
        tokio-websockets) echo echo_tokio_websockets ;;
        wsproto-tokio) echo echo_wsproto_tokio ;;
        # The io_uring adapter's own echo example (adapters/uring, crate wsproto-uring), run
        # with 2 threads like the tokio servers' 2 workers, through a wrapper build_servers writes.
        wsproto-uring) echo echo_wsproto_uring ;;
        # Not a library: the least an echo can do per read (src/bin/echo_floor_tcp.rs).
        floor-tcp) echo echo_floor_tcp ;;
        *) echo "unknown server $1 (one of: $ALL_SERVERS)" >&2; return 1 ;;
    esac
}

# Builds the servers (and the idle client): the kit, and wsproto-uring's echo example when
# adapters/uring exists, behind a wrapper that runs it with 2 threads (`exec` keeps the PID).
build_servers() {
    cargo build -q --release
    if [ -f ../../adapters/uring/Cargo.toml ]; then
        cargo build -q --release --manifest-path ../../Cargo.toml -p wsproto-uring \
            --example uring_echo_server --target-dir "${CARGO_TARGET_DIR:-target}/uring"
        cp "${CARGO_TARGET_DIR:-target}/uring/release/examples/uring_echo_server" "$BIN/echo_server_uring"
        printf '#!/bin/sh\nexec "$(dirname "$0")/echo_server_uring" "$1" 2\n' >"$BIN/echo_wsproto_uring"
        chmod +x "$BIN/echo_wsproto_uring"
    elif [ -x "$BIN/echo_wsproto_uring" ]; then
        echo "note: adapters/uring is not in this tree; wsproto-uring is the binary already in $BIN" >&2
    fi
}

# The servers named by $1 ("all" or one name) that are built.
servers_of() {
    if [ "$1" = all ]; then set -- $ALL_SERVERS; fi
    for name in "$@"; do
        bin=$(binary_of "$name") || return 1
        if [ -x "$BIN/$bin" ]; then echo "$name"; else echo "skipping $name: $BIN/$bin not built" >&2; fi
    done
}

# The niceness of the server and the load generator: NICE=-10 (as root) keeps a build that
# shares the machine from taking their CPU.
NICE=${NICE:-0}

# Starts server $1 on port $2, pinned to CPU $SERVER_CPU; sets SERVER_PID once it listens.
start_server() {
    nice -n "$NICE" taskset -c "$SERVER_CPU" "$BIN/$(binary_of "$1")" "$2" 2>/dev/null &
    SERVER_PID=$!
    for _ in $(seq 100); do
        if ss -ltnH "sport = :$2" | grep -q LISTEN; then return 0; fi
        sleep 0.05
    done
    echo "$1 did not start listening on port $2" >&2
    return 1
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# The commit of what wsproto-tokio is built from (the core and the adapter), "+dirty" if changed.
wsproto_commit() {
    local c
    c=$(git log -1 --format=%h -- ../../src ../../adapters)
    if ! git diff --quiet HEAD -- ../../src ../../adapters; then c="$c+dirty"; fi
    echo "$c"
}
