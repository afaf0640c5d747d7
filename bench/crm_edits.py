#!/usr/bin/env python3
"""Change N leads on the CRM side through the public REST API (sObject
collections, 200 per call), as a CRM integration would.
  crm_edits.py BASE_URL N FIELD VALUE_PREFIX"""
import json
import sys
import urllib.parse
import urllib.request

base, n, field, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
form = urllib.parse.urlencode({"grant_type": "password", "client_id": "crmsync-demo",
                               "client_secret": "crmsync-demo-secret",
                               "username": "sync@example.com", "password": "sync-password"})
tok = json.load(urllib.request.urlopen(f"{base}/services/oauth2/token", form.encode()))
hdr = {"Authorization": "Bearer " + tok["access_token"], "Content-Type": "application/json"}
inst = tok["instance_url"] + "/services/data/v59.0"
q = urllib.parse.quote(f"SELECT Id FROM Lead ORDER BY Id LIMIT {n}")
req = urllib.request.Request(f"{inst}/query?q={q}", headers=hdr)
page = json.load(urllib.request.urlopen(req))
ids = [r["Id"] for r in page["records"]]
while not page["done"] and len(ids) < n:
    req = urllib.request.Request(tok["instance_url"] + page["nextRecordsUrl"], headers=hdr)
    page = json.load(urllib.request.urlopen(req))
    ids += [r["Id"] for r in page["records"]]
ids = ids[:n]
for i in range(0, len(ids), 200):
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, "id": x, field: f"{prefix}{k}"}
        for k, x in enumerate(ids[i:i + 200], i)]}
    req = urllib.request.Request(f"{inst}/composite/sobjects", json.dumps(body).encode(),
                                 headers=hdr, method="PATCH")
    res = json.load(urllib.request.urlopen(req))
    bad = [r for r in res if not r["success"]]
    if bad:
        sys.exit(f"crm_edits: {len(bad)} failed: {bad[0]}")
print(len(ids))
