#!/usr/bin/env python3
"""schema.py SRC OUT VERSION: write the emulator's built-in schema (parsed
from tests/sfemu/schema_default.c) as a --schema file; VERSION 2 changes
Invoice__c: Region__c added, Due_Date__c removed, Amount__c retyped to text;
VERSION wide gives Invoice__c 600 more text fields with 31-character names.
   schema.py reseed DUMP_JSON...: print a POST /__emu/seed body re-creating
the dumped records under version 2 (ids and stamps kept)."""
import json
import re
import sys


def builtin(src):
    text = open(src, encoding="utf-8").read()
    body = text.split("schema_default_json[] =", 1)[1].split(";\n", 1)[0]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    lits = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    return json.loads("".join(l.replace('\\"', '"').replace("\\\\", "\\") for l in lits))


def v2(schema):
    for o in schema["objects"]:
        if o["name"] == "Invoice__c":
            o["fields"] = [f for f in o["fields"] if f["name"] != "Due_Date__c"]
            for f in o["fields"]:
                if f["name"] == "Amount__c":
                    f.clear()
                    f.update({"name": "Amount__c", "type": "string", "length": 40,
                              "custom": True})
            o["fields"].append({"name": "Region__c", "type": "string", "length": 40,
                                "custom": True})
    return schema


if sys.argv[1] == "reseed":
    recs = {}
    drop = {"IsDeleted", "Due_Date__c"}
    for path in sys.argv[2:]:
        d = json.load(open(path))
        out = []
        for r in d["records"]:
            if r.get("IsDeleted"):
                continue
            r = {k: v for k, v in r.items() if v is not None and k not in drop}
            if "Amount__c" in r:
                r["Amount__c"] = str(r["Amount__c"])
            if d["type"] == "Invoice__c":  # the new field has values, old stamps
                r["Region__c"] = "Seeded"
            out.append(r)
        recs[d["type"]] = out
    print(json.dumps({"records": recs}))
else:
    s = builtin(sys.argv[1])
    if sys.argv[3] == "wide":
        for o in s["objects"]:
            if o["name"] == "Invoice__c":
                o["fields"] += [{"name": "Quarterly_Forecast_Region_%03d__c" % i,
                                 "type": "string", "length": 20, "custom": True}
                                for i in range(600)]
    json.dump(v2(s) if sys.argv[3] == "2" else s, open(sys.argv[2], "w"))
