#!/usr/bin/env bash
# Alternates the `profile` driver over implementations, ROUNDS times, so that every
# implementation sees the same machine load; prints each one's best and median per-message time
# (minimum over alternations of each run's minimum, and median of each run's median).
#   scripts/alternate.sh R4 "wsproto fastwebsockets floor_ours floor_avx2" 10 20
# (scenario, implementations, alternations, rounds per run). Needs a release build of `profile`.
# An implementation written LABEL=BINARY:IMPL runs IMPL with another build of `profile` (an older
# commit's, for before/after) and is reported as LABEL:
#   scripts/alternate.sh R5 "before=/tmp/old/profile:wsproto wsproto nexus_web" 20 40
set -euo pipefail
cd "$(dirname "$0")/.."
sc=$1; imps=$2; alternations=${3:-10}; rounds=${4:-20}
bin=${CARGO_TARGET_DIR:-target}/release/profile
out=$(mktemp)
for _ in $(seq "$alternations"); do
    for imp in $imps; do
        case $imp in
            *=*:*) label=${imp%%=*}; rest=${imp#*=}
                   "${rest%%:*}" "$sc" "${rest#*:}" "$rounds" | sed "s/ ${rest#*:}: / $label: /" >>"$out" ;;
            *) "$bin" "$sc" "$imp" "$rounds" >>"$out" ;;
        esac
    done
done
python3 - "$out" <<'PY'
import re, sys, statistics
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) (\S+): median ([\d.]+) ns, min ([\d.]+) ns", line)
    if m:
        runs.setdefault(m.group(2), []).append((float(m.group(3)), float(m.group(4))))
for imp, r in runs.items():
    print(f"{imp:20} best {min(x[1] for x in r):10.1f} ns  median {statistics.median(x[0] for x in r):10.1f} ns  ({len(r)} runs)")
PY
rm -f "$out"
