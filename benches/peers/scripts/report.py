#!/usr/bin/env python3
"""Prints the medians of the last `cargo bench` run (criterion's estimates.json) as a table:
ns per message for each implementation, wsproto's ratio to the fastest peer and to
fastwebsockets, and, where measured (R3, R4, R5), to the floor (the faster of its kernels); R5 also
shows the unmask-free bound (copy and UTF-8 check of payloads unmasked beforehand).
Usage: scripts/report.py [criterion dir, default $CARGO_TARGET_DIR/criterion or target/criterion]."""
import json, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
COUNTS = {"R1_bin_16B": 100_000, "R2_bin_1KiB": 10_000, "R3_bin_64KiB": 1_000, "R4_bin_1MiB": 16,
          "R5_text_1KiB": 10_000, "R6_text_64KiB_frag": 1_000, "W1_16B": 100_000, "W1_64KiB": 1_000}
PEERS = ["tungstenite", "fastwebsockets", "tokio_websockets", "nexus_web", "embedded_websocket"]
REFS = ["ref_memcpy", "ref_copy_unmask"]
FLOORS = ["floor_ours", "floor_best", "floor_avx2"]
BOUNDS = ["floor_unmask_free"]

def median(group, bench):
    path = os.path.join(root, group, bench, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]  # ns per iteration

def fmt(ns):
    return "—" if ns is None else (f"{ns:.1f}" if ns < 1000 else f"{ns/1000:.2f} µs")

cols = ["wsproto"] + PEERS + REFS + FLOORS + BOUNDS
print("| scenario | " + " | ".join(cols) + " | × fastest peer | × fastwebsockets | floor / wsproto |")
print("|---" * (len(cols) + 4) + "|")
for group, count in COUNTS.items():
    ws = median(group, "wsproto")
    if ws is None:
        continue
    per = {b: ((median(group, b) or 0) / count) or None for b in cols}
    peers = [per[p] for p in PEERS if per[p]]
    ratio = min(peers) / per["wsproto"] if peers else None
    fws = per["fastwebsockets"] / per["wsproto"] if per["fastwebsockets"] else None
    floors = [per[f] for f in FLOORS if per[f]]
    to_floor = min(floors) / per["wsproto"] if floors else None
    cells = [fmt(per[b]) for b in cols]
    print(f"| {group} | " + " | ".join(cells) +
          (f" | {ratio:.2f}×" if ratio else " | —") +
          (f" | {fws:.2f}×" if fws else " | —") +
          (f" | {to_floor:.0%} |" if to_floor else " | — |"))
print("\nns per message (median of criterion's samples); floor / wsproto is the fastest floor's time"
      " over wsproto's (100 % = at the floor).")
