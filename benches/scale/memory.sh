#!/bin/bash
# The idle-connection memory run (issue 18). For each server and each N: a fresh server (pinned
# to CPU 1), then idle_client (pinned to CPU 0) opens N connections from 8 source addresses
# 127.0.0.10-17, echoes one 16-byte text message on each, holds them idle, and reads the server's
# VmRSS/VmHWM: baseline, cold (first batch), warm (a second batch after the first closed), and
# after one 1 MiB echo on 100 of the warm connections. With two or more N, the slope of warm
# VmRSS between the first and the last N given extrapolates 100,000 connections.
#
#   benches/scale/memory.sh SERVER N [N ...]      SERVER: a name or "all"
#   benches/scale/memory.sh all 5000 19000
#
# N is at most about 19,500: every connection is a descriptor on both sides and the limit here is
# 20,000 per process (the script raises the soft limit to the hard one).
set -euo pipefail
cd "$(dirname "$0")"
[ $# -ge 2 ] || { sed -n 2,13p "$0" | sed 's/^# \{0,1\}//'; exit 2; }
WHICH=$1; shift
NS=("$@")
BIN=${CARGO_TARGET_DIR:-target}/release
PORT=${PORT:-9320}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
BIG=${BIG:-100}
source ./servers.sh

ulimit -n "$(ulimit -Hn)"
build_servers
SERVERS=$(servers_of "$WHICH")

echo "memory run $(date -u '+%Y-%m-%d %H:%M UTC'), wsproto at $(wsproto_commit), $(nproc) CPUs, fd limit $(ulimit -n)"
declare -A WARM COLD BIGG BASE LOAD
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
for server in $SERVERS; do
    for n in "${NS[@]}"; do
        start_server "$server" "$PORT"
        echo "== $server, N=$n, load average $(loadavg)"
        nice -n "$NICE" taskset -c "$CLIENT_CPU" "$BIN/idle_client" "$PORT" "$n" "$SERVER_PID" --big "$BIG" | tee "$LOG"
        out=$(grep '^RESULT' "$LOG")
        stop_server
        declare -A r=()
        for kv in ${out#RESULT }; do r[${kv%%=*}]=${kv#*=}; done
        COLD[$server,$n]=${r[cold_per_conn]}
        WARM[$server,$n]=${r[warm]}
        BASE[$server,$n]=${r[baseline]}
        BIGG[$server,$n]=${r[big_growth_per_conn]}
        LOAD[$server,$n]=$(loadavg)
        unset r
    done
done

echo
echo "| server | N | KiB per idle connection, cold | warm | growth per connection after one 1 MiB echo on $BIG of them | load average |"
echo "|---|---:|---:|---:|---:|---|"
for server in $SERVERS; do
    for n in "${NS[@]}"; do
        warm_per=$(awk -v w="${WARM[$server,$n]}" -v b="${BASE[$server,$n]}" -v n="$n" 'BEGIN { printf "%.2f", (w - b) / n }')
        echo "| $server | $n | ${COLD[$server,$n]} | $warm_per | +${BIGG[$server,$n]} KiB | ${LOAD[$server,$n]} |"
    done
done
if [ ${#NS[@]} -ge 2 ]; then
    lo=${NS[0]}; hi=${NS[-1]}
    echo
    echo "| server | slope of warm VmRSS, N=$lo to $hi (KiB per connection) | 100,000 connections, extrapolated (MiB) |"
    echo "|---|---:|---:|"
    for server in $SERVERS; do
        awk -v s="$server" -v a="${WARM[$server,$lo]}" -v b="${WARM[$server,$hi]}" -v lo="$lo" -v hi="$hi" \
            'BEGIN { slope = (b - a) / (hi - lo); printf "| %s | %.2f | %.0f |\n", s, slope, (b + slope * (100000 - hi)) / 1024 }'
    done
fi
