#!/bin/bash
# The echo-throughput run (issue 18): 16-byte text messages echoed over loopback by each server,
# with 64 connections, 512 connections and 64 connections x 16 pipelined messages, in two
# interleaved passes (pass 1 over every scenario and server, then pass 2), a fresh server per
# measurement. The load generator is gcannon (io_uring; build it with build-gcannon.sh), one
# thread pinned to CPU 0; the server (2 tokio workers) is pinned to CPU 1. Over the whole run
# (the 64 or 512 handshakes included: negligible), `perf stat -p` counts the server's syscalls
# (tracepoints) and its user and system CPU time is read from /proc/PID/stat; syscalls per
# frame = the server's syscalls / the frames gcannon counted echoed.
#
#   benches/scale/throughput.sh [SERVER ...]        default: all built servers
#
# Environment: GCANNON (default target/gcannon/gcannon), DURATION (s per run, default 8),
# PASSES (default 2), NICE (niceness of server and gcannon, default 0), QUIET_WAIT (s to wait
# before each run for a machine 90 % idle, default 30), ATTEMPTS (runs of one measurement while
# other processes took more than 10 % of one CPU, default 3; the last one counts).
set -euo pipefail
cd "$(dirname "$0")"
BIN=${CARGO_TARGET_DIR:-target}/release
GCANNON=${GCANNON:-target/gcannon/gcannon}
PORT=${PORT:-9330}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
DURATION=${DURATION:-8}
PASSES=${PASSES:-2}
QUIET_WAIT=${QUIET_WAIT:-30}
ATTEMPTS=${ATTEMPTS:-3}
MESSAGE=0123456789abcdef
SCENARIOS=("64 1" "512 1" "64 16")
source ./servers.sh
(( NICE >= 0 )) || [ "$(id -u)" = 0 ] || { echo "NICE < 0 needs root" >&2; exit 1; }

[ -x "$GCANNON" ] || { echo "no gcannon at $GCANNON: run build-gcannon.sh (or set GCANNON)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time is needed for gcannon's CPU time (apt-get install time)" >&2; exit 1; }
command -v perf >/dev/null || { echo "perf is needed for syscall counts (apt-get install linux-perf)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
build_servers
if [ $# -eq 0 ]; then set -- all; fi
SERVERS=$(for s in "$@"; do servers_of "$s" || exit 1; done)
TICK=$(getconf CLK_TCK)
READS=syscalls:sys_enter_read,syscalls:sys_enter_readv,syscalls:sys_enter_recvfrom,syscalls:sys_enter_recvmsg
WRITES=syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg
OTHERS=syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_futex,syscalls:sys_enter_io_uring_enter
# Operations submitted to an io_uring (not syscalls: an io_uring server's reads and writes).
RING=io_uring:io_uring_submit_req
EVENTS=raw_syscalls:sys_enter,$READS,$WRITES,$OTHERS,$RING

# Sum of the perf counts (CSV on $1) of the events listed in $2.
count_of() {
    local total=0 n
    for event in ${2//,/ }; do
        n=$(grep ",$event," "$1" | cut -d, -f1)
        case "$n" in ''|'<not'*) n=0 ;; esac
        total=$((total + n))
    done
    echo "$total"
}

cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }

# Busy ticks (everything but idle and iowait) of CPU $1, or of all CPUs with "cpu".
busy_ticks() { awk -v c="$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# Waits (at most QUIET_WAIT s) until the machine is at least 90 % idle over one second: the
# machine is shared, and a build beside the run moves the figures by tens of percent.
wait_for_quiet() {
    local waited=0 b0 b1
    while [ "$waited" -lt "$QUIET_WAIT" ]; do
        b0=$(busy_ticks cpu); sleep 1; b1=$(busy_ticks cpu)
        [ $((b1 - b0)) -le $((TICK * $(nproc) / 10)) ] && return 0
        waited=$((waited + 1))
    done
}

echo "throughput run $(date -u '+%Y-%m-%d %H:%M UTC'), wsproto at $(wsproto_commit), gcannon -t 1 on CPU $CLIENT_CPU, server on CPU $SERVER_CPU, ${DURATION} s per run, niceness $NICE"
declare -A RATE SYS RD WR POLL KERNEL BUSY RINGS
PERF_OUT=$(mktemp)
TIME_OUT=$(mktemp)
trap 'stop_server; rm -f "$PERF_OUT" "$TIME_OUT"' EXIT
# One run of $server with $conns connections x $depth pipelined; sets rate, sys, rd, wr, poll, ring,
# kernel, cpu, others (on the server's CPU), machine (others on all CPUs), client (gcannon's CPU
# %), errors and load.
measure() {
    wait_for_quiet
    start_server "$server" "$PORT"
    load=$(loadavg)
    local json u0 s0 u1 s1 c0 c1 t0 t1 a0 a1 perf_pid frames elapsed seconds
    json=$(mktemp)
    read -r u0 s0 < <(cpu_ticks "$SERVER_PID")
    c0=$(busy_ticks "cpu$SERVER_CPU"); t0=$(date +%s.%N)
    perf stat -x, -e "$EVENTS" -p "$SERVER_PID" -o "$PERF_OUT" &
    perf_pid=$!
    sleep 0.2 # perf attached
    a0=$(busy_ticks cpu)
    nice -n "$NICE" /usr/bin/time -f '%U %S' -o "$TIME_OUT" taskset -c "$CLIENT_CPU" "$GCANNON" \
        "http://127.0.0.1:$PORT/" --ws --ws-msg "$MESSAGE" -c "$conns" -t 1 -p "$depth" \
        -d "${DURATION}s" --json >"$json"
    a1=$(busy_ticks cpu)
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    read -r u1 s1 < <(cpu_ticks "$SERVER_PID")
    c1=$(busy_ticks "cpu$SERVER_CPU"); t1=$(date +%s.%N)
    stop_server
    frames=$(grep -o '"ws_frames": [0-9]*' "$json" | grep -o '[0-9]*$')
    elapsed=$(grep -o '"elapsed_sec": [0-9.]*' "$json" | grep -o '[0-9.]*$')
    errors=$(tr -d ' \n' <"$json" | grep -o '"errors":{[^}]*}')
    rm -f "$json"
    seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    rate=$(awk -v f="$frames" -v e="$elapsed" 'BEGIN { printf "%.0f", f / e }')
    per() { awk -v c="$1" -v f="$frames" 'BEGIN { printf "%.2f", c / f }'; }
    sys=$(per "$(count_of "$PERF_OUT" raw_syscalls:sys_enter)")
    rd=$(per "$(count_of "$PERF_OUT" "$READS")")
    wr=$(per "$(count_of "$PERF_OUT" "$WRITES")")
    poll=$(per "$(count_of "$PERF_OUT" "$OTHERS")")
    ring=$(per "$(count_of "$PERF_OUT" "$RING")")
    kernel=$(awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) 'BEGIN { if (u + s > 0) printf "%.0f", 100 * s / (u + s); else print "-" }')
    cpu=$(awk -v t=$((u1 - u0 + s1 - s0)) -v hz="$TICK" -v e="$seconds" 'BEGIN { printf "%.0f", 100 * t / hz / e }')
    # What else ran on the server's CPU: its busy time less the server's own (loopback
    # softirq work is in it too: a few percent when the machine is quiet).
    others=$(awk -v c=$((c1 - c0 - (u1 - u0) - (s1 - s0))) -v hz="$TICK" -v e="$seconds" 'BEGIN { v = 100 * c / hz / e; printf "%.0f", v < 0 ? 0 : v }')
    # What else ran on the machine while gcannon ran: all CPUs' busy time less the server's and
    # gcannon's (in % of one CPU).
    client=$(awk '{ print $1 + $2 }' "$TIME_OUT")
    machine=$(awk -v a=$((a1 - a0)) -v hz="$TICK" -v srv=$(( (u1 - u0) + (s1 - s0) )) -v gc="$client" -v e="$elapsed" \
        'BEGIN { v = 100 * (a / hz - srv / hz - gc) / e; printf "%.0f", v < 0 ? 0 : v }')
    client=$(awk -v c="$client" -v e="$elapsed" 'BEGIN { printf "%.0f", 100 * c / e }')
}

for pass in $(seq "$PASSES"); do
    for scenario in "${SCENARIOS[@]}"; do
        read -r conns depth <<<"$scenario"
        for server in $SERVERS; do
            for attempt in $(seq "$ATTEMPTS"); do
                measure
                line="pass $pass | $server | $conns conns x $depth | $rate frames/s | $sys syscalls/frame ($rd reads, $wr writes, $poll epoll/futex/io_uring_enter), $ring io_uring submissions/frame | server CPU ${cpu}%, ${kernel}% in kernel | gcannon ${client}% CPU | others: ${others}% of the server's CPU, ${machine}% of one CPU in all | $errors | load $load"
                [ "$machine" -le 10 ] || [ "$attempt" -eq "$ATTEMPTS" ] && break
                echo "disturbed (attempt $attempt): $line"
            done
            echo "$line"
            key="$server,$scenario"
            RATE[$key]="${RATE[$key]:-} $rate"
            SYS[$key]="${SYS[$key]:-} $sys"; RD[$key]="${RD[$key]:-} $rd"; WR[$key]="${WR[$key]:-} $wr"
            POLL[$key]="${POLL[$key]:-} $poll"; KERNEL[$key]="${KERNEL[$key]:-} $kernel"
            RINGS[$key]="${RINGS[$key]:-} $ring"
            BUSY[$key]="${BUSY[$key]:-} $machine"
        done
    done
done

mean() { echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.'"${PREC:-2}"'f", s / NF }'; }

# The cell of the frames/s table for $key: the best pass, each pass, what others took in each.
rate_cell() {
    local passes best busy
    passes=$(echo ${RATE[$key]} | awk '{ for (i = 1; i <= NF; i++) printf "%s%.1fk", (i > 1 ? ", " : ""), $i / 1000 }')
    best=$(echo ${RATE[$key]} | awk '{ m = 0; for (i = 1; i <= NF; i++) if ($i > m) m = $i; printf "%.1fk", m / 1000 }')
    busy=$(echo ${BUSY[$key]} | awk '{ for (i = 1; i <= NF; i++) printf "%s%d", (i > 1 ? ", " : ""), $i }')
    echo "$best ($passes; $busy %)"
}

# The cell of the syscall table for $key.
syscall_cell() {
    echo "$(mean ${SYS[$key]}) / $(mean ${RD[$key]}) / $(mean ${WR[$key]}) / $(mean ${POLL[$key]}), $(mean ${RINGS[$key]}), $(PREC=0 mean ${KERNEL[$key]})%"
}

# A markdown table, one row per server, one column per scenario, cells from the function $1.
table() {
    echo
    echo "| server | 64 connections | 512 connections | 64 connections × 16 pipelined |"
    echo "|---|---:|---:|---:|"
    for server in $SERVERS; do
        row="| $server"
        for scenario in "${SCENARIOS[@]}"; do
            key="$server,$scenario"
            row="$row | $($1)"
        done
        echo "$row |"
    done
}

echo
echo "Frames/s, best of $PASSES passes (each pass in brackets, then the % of one CPU that other processes took in each; on a shared machine the best is the least disturbed):"
table rate_cell
echo
echo "Server syscalls per echoed frame (all / reads / writes / epoll_wait+futex+io_uring_enter), io_uring submissions per frame, % of server CPU in the kernel, mean of $PASSES passes:"
table syscall_cell
