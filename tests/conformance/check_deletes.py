#!/usr/bin/env python3
"""check_deletes.py BASE_URL ACCOUNT_SID AUTH_TOKEN DELETES.json

After the schemathesis run: is each resource that seed.py set aside for a DELETE
operation gone? A 204 has no body to validate, and later deletes of the same SID get 404,
so schemathesis lists every DELETE as "only 404"; this shows each one did delete once.
Informational: prints one line (and the survivors), exits 0.
"""
import json
import sys

import requests

base, account, token, path = sys.argv[1:5]
with open(path) as f:
    deletes = json.load(f)
survivors = []
for op_id, url in deletes:
    r = requests.get(base + url, auth=(account, token), timeout=10)
    if r.status_code != 404:
        survivors.append(f"  not deleted by {op_id}: GET {url} -> {r.status_code}")
done = len(deletes) - len(survivors)
print(f"deletes: {done}/{len(deletes)} seeded resources were deleted by their DELETE operation")
if survivors:
    print("\n".join(survivors))
