#!/usr/bin/env python3
"""st_summary.py DIR_OR_JSON: one summary line of a schemathesis JSON report.

Exit 0 clean | 1 check failures | 2 errors, nothing tested, or interrupted.
schemathesis' own exit code cannot tell failures from a dead server, so the runner uses
this. Recipe: shared/docs/reference/schemathesis.md §3.
"""
import glob
import json
import os
import sys

p = sys.argv[1]
if os.path.isdir(p):
    reports = glob.glob(os.path.join(p, "json-*.json"))
    if not reports:
        print(f"schemathesis: no JSON report in {p}")
        sys.exit(2)
    p = max(reports, key=os.path.getmtime)
with open(p) as f:
    r = json.load(f)
ops, tc = r["operations"], r["test_cases"]
# Count by title, not code: ST108 also covers header-schema failures.
by_title = {f["title"]: f["count"] for f in r["failures"]}
schema = by_title.get("Response violates schema", 0)  # ST108 on a body
server = by_title.get("Server error", 0)  # ST101
other = sum(by_title.values()) - schema - server
# An operation whose valid requests got a 2xx at least once had its response schema checked.
validated = sum(1 for ph in r["valid_rates"].values() if any(v["accepted"] for v in ph.values()))
errors = sum(e["count"] for e in r["errors"])
bad_ops = sorted({o for f in r["failures"] if f["title"] == "Response violates schema" for o in f["operations"]})
err_ops = sorted({o for f in r["failures"] if f["title"] == "Server error" for o in f["operations"]})
print(
    f"schemathesis: operations tested {ops['tested']}/{ops['selected']} (errored {ops['errored']}), "
    f"2xx-validated {validated}, cases {tc['generated']}, schema violations {schema} in {len(bad_ops)} ops, "
    f"server errors {server}, other failures {other}, errors {errors}, stop {r['stop_reason']}, "
    f"st exit {r['exit_code']}"
)
for o in bad_ops:
    print("  ST108", o)
for o in err_ops:
    print("  ST101", o)
for e in r["errors"]:
    print("  error", e["title"], e["count"])
for o in r["warnings"]["missing_test_data"]:
    print("  only-404", o)
incomplete = errors or ops["tested"] == 0 or r["stop_reason"] not in ("completed", "max_time")
sys.exit(1 if by_title else 2 if incomplete else 0)
