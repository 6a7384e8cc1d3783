#!/usr/bin/env python3
"""Counts test results in Meson's testlog.json form (one JSON object per line, with "result").

    usage: tools/ci/count_results.py LABEL FILE...

Prints "LABEL: N passed, N failed, N skipped" ("N passed, ..." when LABEL is empty); a result
that is neither OK nor SKIP counts as failed.
"""
import json
import sys

label, paths = sys.argv[1], sys.argv[2:]
results = [json.loads(line) for path in paths for line in open(path) if line.strip()]
passed = sum(r["result"] == "OK" for r in results)
skipped = sum(r["result"] == "SKIP" for r in results)
failed = len(results) - passed - skipped
print(f"{label + ': ' if label else ''}{passed} passed, {failed} failed, {skipped} skipped")
