#!/usr/bin/env python3
"""Prints semcom's speed relative to PyTorch's variants from `semcom bench --json` and the JSON lines of
pytorch_reference.py: ratio = PyTorch ms/step ÷ semcom ms/step (above 1: semcom is faster).
Usage: ratios.py SEMCOM_JSON PYTORCH_JSONL"""
import json
import sys

ours = {r["step"]: r for r in json.load(open(sys.argv[1]))}
print(f"{'step':10} {'semcom ms':>10} {'pytorch':>18} {'ms':>9} {'ratio':>7}")
for line in open(sys.argv[2]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    o = ours.get(r["step"])
    if o:
        print(f"{r['step']:10} {o['ms_per_step']:10.2f} {r['impl']:>18} {r['ms_per_step']:9.2f} {r['ms_per_step'] / o['ms_per_step']:7.2f}")
