#!/usr/bin/env python3
"""Prints the medians of the last `cargo bench` run (criterion's estimates.json) as a table:
ns per message for each implementation, and wsproto's ratio to the fastest peer and to the
references. Usage: scripts/report.py [criterion dir, default $CARGO_TARGET_DIR/criterion]."""
import json, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
COUNTS = {"R1_bin_16B": 100_000, "R2_bin_1KiB": 10_000, "R3_bin_64KiB": 1_000, "R4_bin_1MiB": 16,
          "R5_text_1KiB": 10_000, "R6_text_64KiB_frag": 1_000, "W1_16B": 100_000, "W1_64KiB": 1_000}
PEERS = ["tungstenite", "fastwebsockets", "embedded_websocket"]
REFS = ["ref_memcpy", "ref_copy_unmask"]

def median(group, bench):
    path = os.path.join(root, group, bench, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]  # ns per iteration

def fmt(ns):
    return "—" if ns is None else (f"{ns:.1f}" if ns < 1000 else f"{ns/1000:.1f} µs")

print("| scenario | wsproto | tungstenite | fastwebsockets | embedded-websocket | memcpy | copy+unmask | × fastest peer | wsproto / copy+unmask |")
print("|---|---|---|---|---|---|---|---|---|")
for group, count in COUNTS.items():
    ws = median(group, "wsproto")
    if ws is None:
        continue
    per = {b: (median(group, b) or 0) / count or None for b in ["wsproto"] + PEERS + REFS}
    peers = [per[p] for p in PEERS if per[p]]
    ratio = min(peers) / per["wsproto"] if peers else None
    ref = per["ref_copy_unmask"] or per["ref_memcpy"]
    to_ref = ref / per["wsproto"] if ref else None
    cells = [fmt(per[b]) for b in ["wsproto"] + PEERS + REFS]
    print(f"| {group} | " + " | ".join(cells) +
          f" | {ratio:.2f}× |" + (f" {to_ref:.0%} |" if to_ref else " — |"))
print("\nns per message (median of criterion's samples).")
