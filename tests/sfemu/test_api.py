"""The emulator against the spec (../shared/ref/salesforce-rest.md): every
endpoint, every error code of section 4, the control plane, paging across
locator expiry, id checksums and the JSON shapes. Run by test_api.sh, which
starts sfemu (emu.sh) and exports EMU_URL. Prints TAP."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import sys
import time
import urllib.parse

URL = os.environ["EMU_URL"]
HOST = urllib.parse.urlparse(URL)
V = "v59.0"
DATA = "/services/data/" + V
N = 0
FAILED = 0
TOKEN = None
DT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


def ok(cond, what, detail=""):
    global N, FAILED
    N += 1
    if cond:
        print("ok %d - %s" % (N, what))
    else:
        FAILED += 1
        print("not ok %d - %s" % (N, what))
        if detail:
            for line in str(detail)[:2000].splitlines():
                print("#   " + line)
    sys.stdout.flush()
    return cond


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def code(self):
        j = self.json
        if isinstance(j, list) and j and isinstance(j[0], dict):
            return j[0].get("errorCode")
        return None

    def __repr__(self):
        return "%d %s" % (self.status, self.raw[:800])


def call(method, path, body=None, headers=None, token=True, form=None, raw=None):
    h = {}
    if token:
        h["Authorization"] = "Bearer " + (TOKEN if token is True else token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        h["Content-Type"] = "application/x-www-form-urlencoded"
    if raw is not None:
        data = raw.encode() if isinstance(raw, str) else raw
        h["Content-Type"] = "application/json"
    if headers:
        h.update(headers)
    c = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=30)
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    b = r.read().decode("utf-8", "replace")
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return Resp(r.status, hdrs, b)


def ctl(method, path, body=None):
    return call(method, "/__emu/" + path, body=body if body is not None else {}, token=False)


def q(soql, all=False, headers=None, version=V):
    return call("GET", "/services/data/%s/%s?q=%s" % (version, "queryAll" if all else "query",
                                                    urllib.parse.quote(soql)), headers=headers)


def login(**over):
    f = {"grant_type": "password", "client_id": "crmsync-demo",
         "client_secret": "crmsync-demo-secret", "username": "sync@example.com",
         "password": "sync-password"}
    f.update(over)
    return call("POST", "/services/oauth2/token", form=f, token=False)


def err_is(r, status, code, what):
    return ok(r.status == status and r.code() == code, what, r)


# ---------------------------------------------------------------- versions, OAuth
r = call("GET", "/services/data/", token=False)
ok(r.status == 200 and {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}
   in r.json and any(v["version"] == "31.0" for v in r.json)
   and any(v["version"] == "66.0" for v in r.json), "GET /services/data/ lists v31.0-v66.0 without auth", r)
ok(r.headers.get("content-type") == "application/json;charset=UTF-8", "exact JSON content type",
   r.headers)

r = login()
tok = r.json or {}
ok(r.status == 200 and set(tok) >= {"access_token", "instance_url", "id", "token_type",
                                     "issued_at", "signature", "scope"}
   and "refresh_token" not in tok, "password grant: token response, no refresh token", r)
ok(re.match(r"^\d{13}$", tok.get("issued_at", "")) is not None, "issued_at is a string of epoch ms", r)
sig = base64.b64encode(hmac.new(b"crmsync-demo-secret", (tok["id"] + tok["issued_at"]).encode(),
                                hashlib.sha256).digest()).decode()
ok(sig == tok.get("signature"), "signature = base64 HMAC-SHA256(secret, id + issued_at)")
TOKEN = tok["access_token"]
ID_URL = tok["id"]
ORG_ID, USER_ID = ID_URL.split("/")[-2:]

for over, code, desc, what in [
        ({"password": "nope"}, "invalid_grant", "authentication failure", "bad password"),
        ({"username": "who@example.com"}, "invalid_grant", "authentication failure", "bad user"),
        ({"client_id": "other"}, "invalid_client_id", "client identifier invalid", "bad client id"),
        ({"client_secret": "x"}, "invalid_client", "invalid client credentials", "bad secret"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type", "grant type not supported",
         "unsupported grant")]:
    r = login(**over)
    ok(r.status == 400 and r.json == {"error": code, "error_description": desc},
       "token error: %s -> %s" % (what, code), r)

rt = call("POST", "/services/oauth2/token", token=False,
          form={"grant_type": "refresh_token", "refresh_token": "rt-test-123",
                "client_id": "crmsync-demo", "client_secret": "crmsync-demo-secret"})
ok(rt.status == 200 and rt.json.get("access_token"), "refresh_token grant with the configured token", rt)
r = call("POST", "/services/oauth2/token", token=False,
         form={"grant_type": "refresh_token", "refresh_token": "wrong", "client_id": "crmsync-demo"})
ok(r.status == 400 and r.json.get("error") == "invalid_grant"
   and r.json.get("error_description") == "expired access/refresh token", "bad refresh token", r)
basic = base64.b64encode(b"crmsync-demo:crmsync-demo-secret").decode()
r = call("POST", "/services/oauth2/token", token=False, form={"grant_type": "client_credentials"},
         headers={"Authorization": "Basic " + basic})
ok(r.status == 200 and r.json.get("access_token"), "client_credentials with Basic auth", r)
cc_token = r.json["access_token"]
r = call("POST", "/services/oauth2/revoke", token=False, form={"token": cc_token})
ok(r.status == 200, "revoke a token", r)
err_is(call("GET", DATA + "/limits", token=cc_token), 401, "INVALID_SESSION_ID", "a revoked token is refused")

path = urllib.parse.urlparse(ID_URL).path
r = call("GET", path)
ok(r.status == 200 and r.json.get("user_id") == USER_ID and r.json.get("organization_id") == ORG_ID
   and r.json.get("username") == "sync@example.com", "identity URL", r)


def refresh(t):
    return call("POST", "/services/oauth2/token", token=False,
                form={"grant_type": "refresh_token", "refresh_token": t,
                      "client_id": "crmsync-demo", "client_secret": "crmsync-demo-secret"})


# refresh token rotation off (the default): no new refresh token, the old one stays good
r = refresh("rt-test-123")
ok(r.status == 200 and "refresh_token" not in r.json and refresh("rt-test-123").status == 200,
   "no rotation: no refresh_token in the response, the same one works again", r)
# rotation on (refreshRotation): a new refresh token per refresh, the used one is
# invalidated, and presenting a rotated-out one revokes the current one and its
# access tokens (help.salesforce.com, refresh token rotation)
ctl("POST", "config", {"refreshRotation": True})
r1 = refresh("rt-test-123")
rt1 = (r1.json or {}).get("refresh_token")
ok(r1.status == 200 and rt1 and rt1 != "rt-test-123", "rotation: the refresh grant hands out a new refresh token", r1)
r2 = refresh(rt1 or "")
rt2 = (r2.json or {}).get("refresh_token")
ok(r2.status == 200 and rt2 and rt2 not in (rt1, "rt-test-123"), "rotation: each refresh hands out another one", r2)
a2 = (r2.json or {}).get("access_token", "")
ok(call("GET", DATA + "/limits", token=a2).status == 200, "rotation: the new access token works")
r = refresh("never-issued")
ok(r.status == 400 and r.json.get("error") == "invalid_grant"
   and call("GET", DATA + "/limits", token=a2).status == 200,
   "rotation: an unknown refresh token is refused and revokes nothing", r)
r = refresh(rt1 or "")
ok(r.status == 400 and r.json == {"error": "invalid_grant", "error_description": "expired access/refresh token"},
   "rotation: a rotated-out refresh token is refused", r)
err_is(call("GET", DATA + "/limits", token=a2), 401, "INVALID_SESSION_ID",
       "rotation: using a rotated-out token revokes the current one's access tokens")
r = refresh(rt2 or "")
ok(r.status == 400 and r.json.get("error") == "invalid_grant",
   "rotation: ... and the current refresh token itself", r)
ok(call("GET", DATA + "/limits").status == 200, "rotation: a password-grant access token is unaffected")
ctl("POST", "config", {"refreshRotation": False})

# ---------------------------------------------------------------- auth, resources, limits
r = call("GET", DATA + "/limits", token=False)
ok(r.status == 401 and r.json == [{"message": "Session expired or invalid",
                                   "errorCode": "INVALID_SESSION_ID"}], "no token -> 401 INVALID_SESSION_ID", r)
err_is(call("GET", DATA + "/limits", token=False, headers={"Authorization": "Basic abc"}), 401,
       "INVALID_AUTH_HEADER", "non-Bearer header -> INVALID_AUTH_HEADER")
err_is(call("GET", DATA + "/limits", token="00Dbogus!AQxyz"), 401, "INVALID_SESSION_ID", "unknown token")
err_is(call("GET", "/services/data/v30.0/limits"), 404, "NOT_FOUND", "v30.0 -> 404")
err_is(call("GET", "/services/data/v67.0/"), 404, "NOT_FOUND", "v67.0 -> 404")
r = call("GET", DATA + "/")
ok(r.status == 200 and r.json.get("identity") == ID_URL and r.json.get("query") == DATA + "/query",
   "resources list with identity", r)
r = call("GET", DATA + "/limits")
m = re.match(r"^api-usage=(\d+)/(\d+)$", r.headers.get("sforce-limit-info", ""))
ok(m is not None, "Sforce-Limit-Info header", r.headers)
d = r.json["DailyApiRequests"]
ok(m and d["Max"] - d["Remaining"] == int(m.group(1)) and d["Max"] == int(m.group(2)),
   "/limits agrees with Sforce-Limit-Info", (r.json, r.headers))

# ---------------------------------------------------------------- seeded data
def all_records(soql):
    r = q(soql)
    out = r.json["records"]
    while not r.json["done"]:
        r = call("GET", r.json["nextRecordsUrl"])
        out += r.json["records"]
    return out


leads = all_records("SELECT Id, FirstName, LastName, Email, SystemModstamp, CreatedDate, LastModifiedDate FROM Lead")
stamps = [x["SystemModstamp"] for x in leads]
ok(len(leads) >= 440 and len(set(stamps)) < len(stamps) and min(stamps)[:10] < max(stamps)[:10],
   "seeded leads: spread-out and colliding SystemModstamps", (len(leads), len(set(stamps))))
ok(all(x["CreatedDate"] <= x["LastModifiedDate"] <= x["SystemModstamp"] for x in leads),
   "CreatedDate <= LastModifiedDate <= SystemModstamp")
ok(any(any(ord(c) > 127 for c in (x["FirstName"] or "") + x["LastName"]) for x in leads)
   and any(x["Email"] is None for x in leads) and any(x["FirstName"] is None for x in leads),
   "seeded values: unicode and empty fields")
cons = all_records("SELECT Id, AccountId, Account.Name FROM Contact")
ok(cons and all((c["AccountId"] is None) == (c["Account"] is None) for c in cons)
   and any(c["Account"] for c in cons), "seeded contacts point at existing accounts", cons[:2])
mem = all_records("SELECT CampaignId, LeadId, ContactId FROM CampaignMember")
keys_ = [(m["CampaignId"], m["LeadId"] or m["ContactId"]) for m in mem]
ok(len(mem) == 6 and len(set(keys_)) == len(keys_), "campaign members are unique per campaign and person", mem)

# ---------------------------------------------------------------- describe
r = call("GET", DATA + "/sobjects")
names = [s["name"] for s in r.json["sobjects"]]
ok(r.status == 200 and r.json["encoding"] == "UTF-8" and r.json["maxBatchSize"] == 200
   and set(names) >= {"Account", "Contact", "Lead", "User", "Opportunity", "OpportunityContactRole",
                      "Campaign", "CampaignMember", "Task", "Event", "Invoice__c"}, "global describe", names)
entry = [s for s in r.json["sobjects"] if s["name"] == "Lead"][0]
keys = "name label labelPlural keyPrefix custom createable updateable deletable queryable retrieveable " \
       "replicateable undeletable mergeable searchable triggerable layoutable customSetting " \
       "deprecatedAndHidden urls".split()
ok(all(k in entry for k in keys) and entry["keyPrefix"] == "00Q"
   and set(entry["urls"]) == {"sobject", "describe", "rowTemplate"}, "global describe entry keys", entry)
lm = r.headers.get("last-modified")
r = call("GET", DATA + "/sobjects/Lead")
ok(r.status == 200 and r.json["objectDescribe"]["name"] == "Lead" and r.json["recentItems"] == [],
   "sObject basic info", r)
r = call("GET", DATA + "/sobjects/Lead/describe")
lead = r.json
fkeys = "name label type soapType length byteLength precision scale digits nillable createable updateable " \
        "defaultedOnCreate unique caseSensitive externalId idLookup calculated custom autoNumber filterable " \
        "sortable groupable referenceTo relationshipName polymorphicForeignKey picklistValues " \
        "restrictedPicklist nameField".split()
F = {f["name"]: f for f in lead["fields"]}
ok(all(all(k in f for k in fkeys) for f in lead["fields"]), "every field has the describe keys")
ok(F["Id"]["type"] == "id" and F["Id"]["idLookup"] and not F["Id"]["createable"]
   and not F["Id"]["updateable"] and not F["Id"]["nillable"], "Id field", F["Id"])
ok(F["OwnerId"]["type"] == "reference" and F["OwnerId"]["length"] == 18
   and F["OwnerId"]["referenceTo"] == ["User", "Group"] and F["OwnerId"]["relationshipName"] == "Owner"
   and F["OwnerId"]["polymorphicForeignKey"], "polymorphic OwnerId", F["OwnerId"])
k = F["crmsync_Key__c"]
ok(k["externalId"] and k["unique"] and k["idLookup"] and not k["caseSensitive"] and k["length"] == 64
   and k["custom"] and k["byteLength"] == 192, "crmsync_Key__c external id", k)
ok(F["LastName"]["length"] == 80 and not F["LastName"]["nillable"] and F["Status"]["type"] == "picklist"
   and F["Status"]["restrictedPicklist"]
   and {"value": "Open - Not Contacted", "label": "Open - Not Contacted", "active": True,
        "defaultValue": True}.items() <= F["Status"]["picklistValues"][0].items(), "Lead fields", F["Status"])
ok(F["SystemModstamp"]["type"] == "datetime" and not F["SystemModstamp"]["updateable"]
   and "IsDeleted" in F, "system fields", F["SystemModstamp"])
ok(isinstance(lead.get("childRelationships"), list) and isinstance(lead.get("recordTypeInfos"), list),
   "childRelationships and recordTypeInfos")
inv = call("GET", DATA + "/sobjects/Invoice__c/describe").json
IF = {f["name"]: f for f in inv["fields"]}
ok(inv["keyPrefix"] == "a0X" and inv["custom"] and IF["Account__c"]["relationshipName"] == "Account__r"
   and IF["Amount__c"]["type"] == "currency" and IF["Due_Date__c"]["type"] == "date"
   and IF["Paid__c"]["type"] == "boolean", "custom object Invoice__c", IF.get("Account__c"))
err_is(call("GET", DATA + "/sobjects/Nope/describe"), 404, "NOT_FOUND", "describe of an unknown object")
r = call("GET", DATA + "/sobjects/Lead/describe", headers={"If-Modified-Since": lm})
ok(r.status == 304 and r.raw == "", "If-Modified-Since unchanged -> 304", r)
time.sleep(1.1)
ok(ctl("POST", "fls", {"object": "Lead", "field": "Title", "read": False}).status == 200, "fls: hide Lead.Title")
r = call("GET", DATA + "/sobjects/Lead/describe", headers={"If-Modified-Since": lm})
ok(r.status == 200 and "Title" not in [f["name"] for f in r.json["fields"]],
   "hidden field absent from describe, which is modified again", r.status)

# ---------------------------------------------------------------- records
r = call("POST", DATA + "/sobjects/Lead", {"LastName": "Ng", "Company": "Acme", "Email": "ng@example.com",
                                           "FirstName": "Zoë"})
ok(r.status == 201 and r.json["success"] and r.json["errors"] == [] and len(r.json["id"]) == 18,
   "create a lead -> 201", r)
LID = r.json["id"]
r = call("GET", DATA + "/sobjects/Lead/" + LID)
rec = r.json
ok(r.status == 200 and rec["attributes"] == {"type": "Lead", "url": DATA + "/sobjects/Lead/" + LID}
   and rec["Name"] == "Zoë Ng" and rec["Status"] == "Open - Not Contacted" and rec["Phone"] is None
   and rec["OwnerId"] == USER_ID and rec["CreatedById"] == USER_ID and rec["IsDeleted"] is False,
   "read back: defaults, computed Name, owner, nulls present", r)
ok(DT_RE.match(rec["SystemModstamp"]) and "Title" not in rec, "datetime format; hidden field absent", rec)
err_is(call("GET", DATA + "/sobjects/Lead/" + LID + "?fields=Title"), 400, "INVALID_FIELD",
       "?fields= with a hidden field -> INVALID_FIELD")
err_is(call("PATCH", DATA + "/sobjects/Lead/" + LID, {"Title": "CEO"}), 400, "INVALID_FIELD",
       "writing a hidden field -> INVALID_FIELD")
ctl("POST", "fls", {"object": "Lead", "field": "Title", "read": True})
r = call("GET", DATA + "/sobjects/Lead/" + LID[:15] + "?fields=Email,Company")
ok(r.status == 200 and set(r.json) == {"attributes", "Email", "Company"}
   and r.json["attributes"]["url"].endswith(LID), "15-char id and ?fields=", r)
r = call("PATCH", DATA + "/sobjects/Lead/" + LID, {"Email": None, "Title": "CTO"})
ok(r.status == 204 and r.raw == "", "PATCH -> 204 without body", r)
r = call("GET", DATA + "/sobjects/Lead/" + LID)
ok(r.json["Email"] is None and r.json["Title"] == "CTO" and r.json["Company"] == "Acme",
   "null clears, omitted unchanged", r)
err_is(call("POST", DATA + "/sobjects/Lead", {"FirstName": "x"}), 400, "REQUIRED_FIELD_MISSING",
       "REQUIRED_FIELD_MISSING")
r = call("POST", DATA + "/sobjects/Lead", {"FirstName": "x"})
ok(r.json[0]["message"] == "Required fields are missing: [LastName, Company]"
   and r.json[0]["fields"] == ["LastName", "Company"], "required message and fields", r)
r = call("POST", DATA + "/sobjects/Lead", {"LastName": "x" * 81, "Company": "c"})
ok(r.status == 400 and r.code() == "STRING_TOO_LONG" and "(max length=80)" in r.json[0]["message"],
   "STRING_TOO_LONG", r)
r = call("POST", DATA + "/sobjects/Lead", {"LastName": "x", "Company": "c", "IsConverted": True})
ok(r.status == 400 and r.code() == "INVALID_FIELD_FOR_INSERT_UPDATE" and r.json[0]["fields"] == ["IsConverted"],
   "read-only field -> INVALID_FIELD_FOR_INSERT_UPDATE", r)
err_is(call("POST", DATA + "/sobjects/Lead", {"LastName": "x", "Company": "c", "Foo__c": 1}), 400,
       "INVALID_FIELD", "unknown field -> INVALID_FIELD")
err_is(call("POST", DATA + "/sobjects/Lead", {"LastName": "x", "Company": "c", "Status": "Bogus"}), 400,
       "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "restricted picklist value")
err_is(call("POST", DATA + "/sobjects/Lead", raw="{\"LastName\": "), 400, "JSON_PARSER_ERROR",
       "bad JSON -> JSON_PARSER_ERROR")
err_is(call("POST", DATA + "/sobjects/Lead", {"LastName": "x", "Company": "c", "HasOptedOutOfEmail": "yes"}),
       400, "JSON_PARSER_ERROR", "a string for a boolean -> JSON_PARSER_ERROR")
err_is(call("POST", DATA + "/sobjects/Opportunity", {"Name": "x", "StageName": "Prospecting",
                                                     "CloseDate": "2024-01-01T00:00:00Z"}),
       400, "JSON_PARSER_ERROR", "a datetime for a date -> JSON_PARSER_ERROR")
err_is(call("POST", DATA + "/sobjects/Lead", raw="<Lead/>", headers={"Content-Type": "application/xml"}), 415,
       "UNSUPPORTED_MEDIA_TYPE", "a non-JSON body -> 415")
r = call("POST", DATA + "/sobjects/Contact", {"LastName": "C", "AccountId": LID})
ok(r.status == 400 and r.code() == "MALFORMED_ID" and "id value of incorrect type" in r.json[0]["message"],
   "lookup of the wrong type -> MALFORMED_ID", r)
acc = call("POST", DATA + "/sobjects/Account", {"Name": "Gone Inc."}).json["id"]
call("DELETE", DATA + "/sobjects/Account/" + acc)
err_is(call("POST", DATA + "/sobjects/Contact", {"LastName": "C", "AccountId": acc}), 400,
       "INVALID_CROSS_REFERENCE_KEY", "lookup to a missing record -> INVALID_CROSS_REFERENCE_KEY")
r = call("PATCH", DATA + "/sobjects/Lead/" + LID, {"crmsync_Key__c": "K-1"})
r2 = call("POST", DATA + "/sobjects/Lead", {"LastName": "D", "Company": "c", "crmsync_Key__c": "k-1"})
ok(r2.status == 400 and r2.code() == "DUPLICATE_VALUE" and LID in r2.json[0]["message"],
   "unique case-insensitive external id -> DUPLICATE_VALUE", r2)
missing = LID[:3] + "000000000000"
err_is(call("GET", DATA + "/sobjects/Lead/" + missing), 404, "NOT_FOUND", "well-formed missing id -> 404")
err_is(call("PATCH", DATA + "/sobjects/Lead/" + missing, {"Title": "x"}), 404, "NOT_FOUND",
       "PATCH of a missing id -> NOT_FOUND")
r = call("GET", DATA + "/sobjects/Lead/NotAField")
ok(r.status == 404 and r.code() == "NOT_FOUND" and "Provided external ID field does not exist" in r.raw,
   "neither an id nor an external id field -> 404", r)

# delete, bin, undelete
DL = call("POST", DATA + "/sobjects/Lead", {"LastName": "Bin", "Company": "c"}).json["id"]
ok(call("DELETE", DATA + "/sobjects/Lead/" + DL).status == 204, "DELETE -> 204")
err_is(call("GET", DATA + "/sobjects/Lead/" + DL), 404, "NOT_FOUND", "GET of a bin record -> 404")
r = call("PATCH", DATA + "/sobjects/Lead/" + DL, {"Title": "x"})
ok(r.status == 404 and r.json == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED",
                                   "fields": []}], "PATCH of a bin record -> ENTITY_IS_DELETED", r)
err_is(call("DELETE", DATA + "/sobjects/Lead/" + DL), 404, "ENTITY_IS_DELETED", "DELETE of a bin record")
r = q("SELECT Id, IsDeleted FROM Lead WHERE Id = '%s'" % DL, all=True)
ok(r.json["totalSize"] == 1 and r.json["records"][0]["IsDeleted"] is True, "queryAll sees the bin row", r)
ok(q("SELECT Id FROM Lead WHERE Id = '%s'" % DL).json["totalSize"] == 0, "query does not", "")
r = ctl("POST", "records/Lead", {"op": "undelete", "id": DL})
ok(r.status == 200 and call("GET", DATA + "/sobjects/Lead/" + DL).status == 200, "undelete keeps the id", r)

ctl("POST", "config", {"cascadeDeletes": True})
ca = call("POST", DATA + "/sobjects/Account", {"Name": "Cascade"}).json["id"]
cc = call("POST", DATA + "/sobjects/Contact", {"LastName": "Child", "AccountId": ca}).json["id"]
call("DELETE", DATA + "/sobjects/Account/" + ca)
ok(call("GET", DATA + "/sobjects/Contact/" + cc).status == 404, "deleting an account deletes its contacts")
ctl("POST", "records/Account", {"op": "undelete", "id": ca})
ok(call("GET", DATA + "/sobjects/Contact/" + cc).status == 200, "undeleting it restores them")
ctl("POST", "config", {"cascadeDeletes": False})
acc_desc = call("GET", DATA + "/sobjects/Account/describe").json
ok({"childSObject": "Contact", "field": "AccountId", "cascadeDelete": True}.items()
   <= [x for x in acc_desc["childRelationships"] if x["childSObject"] == "Contact"][0].items(),
   "childRelationships show cascadeDelete")

# external ids
r = call("PATCH", DATA + "/sobjects/Lead/crmsync_Key__c/NEW-1", {"LastName": "Ext", "Company": "c"})
ok(r.status == 201 and r.json["created"] is True and r.json["success"], "upsert new -> 201 created:true", r)
EXT = r.json["id"]
r = call("PATCH", DATA + "/sobjects/Lead/crmsync_Key__c/NEW-1", {"Title": "Boss"})
ok(r.status == 200 and r.json == {"id": EXT, "success": True, "errors": [], "created": False},
   "upsert match -> 200 created:false", r)
r = call("PATCH", "/services/data/v45.0/sobjects/Lead/crmsync_Key__c/NEW-1", {"Title": "Boss"})
ok(r.status == 204, "upsert match on v45.0 -> 204", r)
r = call("GET", DATA + "/sobjects/Lead/crmsync_Key__c/new-1")
ok(r.status == 200 and r.json["Id"] == EXT and r.json["Title"] == "Boss", "GET by external id", r)
err_is(call("GET", DATA + "/sobjects/Lead/crmsync_Key__c/none"), 404, "NOT_FOUND", "GET by external id, none")
err_is(call("PATCH", DATA + "/sobjects/Lead/crmsync_Key__c/none?updateOnly=true", {"Title": "x"}), 404,
       "NOT_FOUND", "updateOnly without a match -> 404")
ctl("POST", "records/Lead", {"fields": {"LastName": "Dup", "Company": "c", "crmsync_Key__c": "DUP"},
                             "allowDuplicates": True})
ctl("POST", "records/Lead", {"fields": {"LastName": "Dup2", "Company": "c", "crmsync_Key__c": "DUP"},
                             "allowDuplicates": True})
r = call("GET", DATA + "/sobjects/Lead/crmsync_Key__c/DUP")
ok(r.status == 300 and len(r.json) == 2 and r.json[0].startswith(DATA + "/sobjects/Lead/"),
   "several matches -> 300 with record URLs", r)
ok(call("PATCH", DATA + "/sobjects/Lead/crmsync_Key__c/DUP", {"Title": "x"}).status == 300, "upsert -> 300")

# ---------------------------------------------------------------- query
r = q("SELECT Id, Name, Email, Owner.Name, ConvertedAccount.Name, CreatedDate FROM Lead "
      "ORDER BY SystemModstamp, Id", headers={"Sforce-Query-Options": "batchSize=200"})
j = r.json
total = j["totalSize"]
ok(r.status == 200 and j["done"] is False and len(j["records"]) == 200 and total > 400,
   "batchSize=200 honoured", (r.status, j.get("totalSize"), len(j.get("records", []))))
ok(list(j.keys()) == ["totalSize", "done", "nextRecordsUrl", "records"], "page keys in order", list(j.keys()))
ok(re.match(r"^/services/data/v59\.0/query/01g[0-9A-Za-z]{15}-200$", j["nextRecordsUrl"]) is not None,
   "nextRecordsUrl form", j["nextRecordsUrl"])
r0 = j["records"][0]
ok(list(r0.keys()) == ["attributes", "Id", "Name", "Email", "Owner", "ConvertedAccount", "CreatedDate"]
   and r0["Owner"]["attributes"]["type"] == "User" and "Name" in r0["Owner"]
   and r0["ConvertedAccount"] is None and DT_RE.match(r0["CreatedDate"]), "record shape: parent object or null", r0)
loc = j["nextRecordsUrl"].split("/")[-1]
seen = [x["Id"] for x in j["records"]]
r = call("GET", "/services/data/v45.0/query/" + loc, headers={"Sforce-Query-Options": "batchSize=200"})
ok(r.status == 200 and r.json["totalSize"] == total and len(r.json["records"]) == 200
   and r.json["nextRecordsUrl"].startswith("/services/data/v45.0/query/"), "query-more under another version", r)
seen += [x["Id"] for x in r.json["records"]]
r = call("GET", DATA + "/queryAll/" + r.json["nextRecordsUrl"].split("/")[-1] + "/")
ok(r.status == 200 and r.json["done"] is True and "nextRecordsUrl" not in r.json, "last page under /queryAll/ with a slash", r)
seen += [x["Id"] for x in r.json["records"]]
ok(len(seen) == total and len(set(seen)) == total, "every record exactly once", (len(seen), total))
r = call("GET", DATA + "/query/" + loc)
ok(r.status == 200 and r.json["records"][0]["Id"] == seen[200], "a replayed locator serves the same page", r)
r = q("SELECT COUNT() FROM Lead")
ok(r.json == {"totalSize": total, "done": True, "records": []}, "COUNT()", r)
r = q("SELECT Id FROM Lead LIMIT 3")
ok(r.json["totalSize"] == 3 and len(r.json["records"]) == 3, "LIMIT caps totalSize", r)
r = call("GET", DATA + "/query/?q=" + urllib.parse.quote_plus("SELECT Id FROM Lead LIMIT 1"))
ok(r.status == 200 and r.json["totalSize"] == 1, "/query/ with a slash and + for spaces", r)
r = q("SELECT Id FRM Lead")
ok(r.status == 400 and r.code() == "MALFORMED_QUERY" and "ERROR at Row:1:Column:" in r.json[0]["message"],
   "MALFORMED_QUERY", r)
r = q("SELECT Id FROM Foo")
ok(r.status == 400 and r.code() == "INVALID_TYPE" and "sObject type 'Foo' is not supported" in r.json[0]["message"],
   "INVALID_TYPE", r)
r = q("SELECT Foo FROM Lead")
ok(r.status == 400 and r.code() == "INVALID_FIELD" and "No such column 'Foo' on entity 'Lead'" in r.json[0]["message"],
   "INVALID_FIELD", r)
err_is(q("SELECT Id FROM Lead WHERE SystemModstamp > '2024-01-01T00:00:00Z'"), 400,
       "INVALID_QUERY_FILTER_OPERATOR", "quoted datetime -> INVALID_QUERY_FILTER_OPERATOR")
r = q("SELECT Id FROM Lead WHERE SystemModstamp > 2000-01-01T00:00:00Z ORDER BY SystemModstamp, Id LIMIT 5")
ok(r.status == 200 and r.json["totalSize"] == 5, "keyset query shape", r)
ids_in = ",".join(["'%s'" % LID] * 500)
r = q("SELECT Id FROM Lead WHERE Id IN (%s)" % ids_in)
ok(r.status == 200 and r.json["totalSize"] == 1, "a 14 KB query URL is served", (r.status, r.raw[:200]))
r = q("SELECT Id FROM Lead WHERE Id IN (%s)" % ",".join(["'%s'" % LID] * 800))
err_is(r, 414, "URI_TOO_LONG", "a URL over 16 KB -> 414")
err_is(call("GET", DATA + "/query/01gAAAAAAAAAAAAAAA-200"), 400, "INVALID_QUERY_LOCATOR", "unknown locator")
r = q("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
loc = r.json["nextRecordsUrl"]
ok(ctl("POST", "cursors/expire").status == 200, "cursors/expire")
r = call("GET", loc)
ok(r.status == 400 and r.json == [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}],
   "paging across locator expiry -> INVALID_QUERY_LOCATOR", r)
locs = [q("SELECT Id FROM Lead", version="v55.0", headers={"Sforce-Query-Options": "batchSize=200"}).json["nextRecordsUrl"]
        for _ in range(11)]
ok(call("GET", locs[0]).status == 400 and call("GET", locs[1]).status == 200 and call("GET", locs[10]).status == 200,
   "legacy (v55.0): the 11th cursor evicts the oldest")
ctl("POST", "config", {"chaosBatch": 7})
r = q("SELECT Id FROM Lead")
ok(len(r.json["records"]) == 7 and r.json["nextRecordsUrl"].endswith("-7"), "chaos: smaller pages", r.json.get("nextRecordsUrl"))
ctl("POST", "config", {"chaosBatch": 0, "locatorStatus": 404})
err_is(call("GET", DATA + "/query/01gAAAAAAAAAAAAAAA-200"), 404, "INVALID_QUERY_LOCATOR", "locator status configurable")
ctl("POST", "config", {"locatorStatus": 400})
ctl("POST", "config", {"keyCasing": "query"})
r = q("SELECT id, owner.NAME, email FROM Lead LIMIT 1")
ok(list(r.json["records"][0].keys()) == ["attributes", "id", "owner", "email"]
   and "NAME" in r.json["records"][0]["owner"], "keyCasing query: keys as spelled", r)
ctl("POST", "config", {"keyCasing": "canonical", "cursorLive": True})
r = q("SELECT Id FROM Lead ORDER BY CreatedDate DESC, Id", headers={"Sforce-Query-Options": "batchSize=200"})
n0 = r.json["totalSize"]
call("POST", DATA + "/sobjects/Lead", {"LastName": "Live", "Company": "c"})
r2 = call("GET", r.json["nextRecordsUrl"])
ok(r2.json["totalSize"] == n0 + 1, "cursorLive: later pages see new rows", (n0, r2.json["totalSize"]))
ctl("POST", "config", {"cursorLive": False, "signature": "none"})
ok("signature" not in login().json, "signature can be omitted")
cfg = ctl("POST", "config", {"signature": "hmac"}).json["config"]
ok(cfg["signature"] == "hmac" and cfg["keyCasing"] == "canonical" and cfg["locatorStatus"] == 400, "config echo", cfg)
r = q("SELECT Id, Name FROM Account WHERE Id = '%s'" % acc, all=True)
ok(r.json["totalSize"] == 1, "queryAll includes deleted", r)

# ---------------------------------------------------------------- getUpdated / getDeleted
now = ctl("GET", "clock").json["nowMs"]


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ms / 1000))


ctl("POST", "clock", {"freeze": True})
now = ctl("GET", "clock").json["nowMs"]
u = call("POST", DATA + "/sobjects/Lead", {"LastName": "Upd", "Company": "c"}).json["id"]
ctl("POST", "clock", {"advance": 120})
r = call("GET", DATA + "/sobjects/Lead/updated/?start=%s&end=%s" % (urllib.parse.quote(iso(now - 60000)),
                                                                     urllib.parse.quote(iso(now + 3600000))))
ok(r.status == 200 and u in r.json["ids"] and DT_RE.match(r.json["latestDateCovered"]), "getUpdated", r)
cov = r.json["latestDateCovered"]
ok(cov <= time.strftime("%Y-%m-%dT%H:%M", time.gmtime((now + 120000) / 1000)) + ":59.999+0000",
   "latestDateCovered not after now", cov)
r = call("GET", DATA + "/sobjects/Lead/updated?start=%s&end=%s" % (iso(now), iso(now - 120000)))
ok(r.status == 400 and r.code() == "INVALID_REPLICATION_DATE", "start after end -> INVALID_REPLICATION_DATE", r)
err_is(call("GET", DATA + "/sobjects/Lead/updated?start=%s&end=%s" % (iso(now - 31 * 86400000), iso(now))),
       400, "INVALID_REPLICATION_DATE", "start more than 30 days ago")
err_is(call("GET", DATA + "/sobjects/Lead/deleted?start=%s&end=%s" % (iso(now - 16 * 86400000), iso(now))),
       400, "INVALID_REPLICATION_DATE", "getDeleted: start more than 15 days ago")
call("DELETE", DATA + "/sobjects/Lead/" + u)
ctl("POST", "clock", {"advance": 120})
r = call("GET", DATA + "/sobjects/Lead/deleted/?start=%s&end=%s" % (iso(now - 60000), iso(now + 3600000)))
ok(r.status == 200 and any(x["id"] == u and DT_RE.match(x["deletedDate"]) for x in r.json["deletedRecords"])
   and "earliestDateAvailable" in r.json and "latestDateCovered" in r.json, "getDeleted", r)
ctl("POST", "open-txn", {"start": iso(now + 60000)})
r = call("GET", DATA + "/sobjects/Lead/updated?start=%s&end=%s" % (iso(now - 60000), iso(now + 3600000)))
ok(r.json["latestDateCovered"] == time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime((now + 60000) // 1000)),
   "open-txn holds latestDateCovered back", r)
ctl("DELETE", "open-txn")
r = ctl("POST", "purge", {"type": "Lead"})
ok(r.status == 200 and r.json["purged"] >= 1, "purge empties the bin", r)
r = call("GET", DATA + "/sobjects/Lead/deleted?start=%s&end=%s" % (iso(now - 60000), iso(now + 3600000)))
err_is(r, 400, "INVALID_REPLICATION_DATE", "getDeleted before earliestDateAvailable after a purge")
ctl("POST", "clock", {"freeze": False})

# ---------------------------------------------------------------- collections
recs = [{"attributes": {"type": "Lead"}, "LastName": "C1", "Company": "c"},
        {"attributes": {"type": "Lead"}, "FirstName": "no last name"},
        {"attributes": {"type": "Contact"}, "LastName": "C3"}]
r = call("POST", DATA + "/composite/sobjects", {"allOrNone": False, "records": recs})
ok(r.status == 200 and r.json[0]["success"] and "id" not in r.json[1] and not r.json[1]["success"]
   and r.json[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING" and r.json[2]["success"],
   "collection create: per-record results in order", r)
c1 = r.json[0]["id"]
r = call("POST", DATA + "/composite/sobjects", {"allOrNone": True, "records": recs})
ok(r.status == 200 and not any(x["success"] for x in r.json)
   and r.json[0]["errors"] == [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                "message": "Record rolled back because not all records were valid and the "
                                           "request was using AllOrNone header", "fields": []}]
   and r.json[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING", "allOrNone rolls back", r)
err_is(call("POST", DATA + "/composite/sobjects", {"records": [{"attributes": {"type": "Lead"}, "LastName": "x",
                                                                "Company": "c"}] * 201}),
       400, "EXCEEDED_ID_LIMIT", "more than 200 records -> EXCEEDED_ID_LIMIT")
r = call("PATCH", DATA + "/composite/sobjects", {"records": [
    {"attributes": {"type": "Lead"}, "id": c1, "Title": "T"},
    {"attributes": {"type": "Lead"}, "id": DL, "LastName": "x" * 100}]})
ok(r.json[0] == {"id": c1, "success": True, "errors": []} and r.json[1]["id"] == DL
   and r.json[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG", "collection update echoes ids", r)
r = call("PATCH", DATA + "/composite/sobjects/Lead/crmsync_Key__c", {"records": [
    {"attributes": {"type": "Lead"}, "crmsync_Key__c": "NEW-1", "Title": "U"},
    {"attributes": {"type": "Lead"}, "crmsync_Key__c": "NEW-2", "LastName": "N", "Company": "c"}]})
ok(r.json[0]["created"] is False and r.json[0]["id"] == EXT and r.json[1]["created"] is True,
   "collection upsert", r)
r = call("GET", DATA + "/composite/sobjects/Lead?ids=%s,%s&fields=Id,Title" % (c1, missing))
ok(r.status == 200 and r.json[0]["Title"] == "T" and r.json[1] is None, "collection retrieve (GET)", r)
r = call("POST", DATA + "/composite/sobjects/Lead", {"ids": [c1], "fields": ["LastName"]})
ok(r.status == 200 and r.json[0]["LastName"] == "C1", "collection retrieve (POST)", r)
r = call("DELETE", DATA + "/composite/sobjects?ids=%s,%s" % (c1, c1))
ok(r.json[0]["success"] and r.json[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED",
   "collection delete; a bin row -> ENTITY_IS_DELETED", r)

# ---------------------------------------------------------------- composite
before = ctl("GET", "stats").json["apiCalls"]
r = call("POST", DATA + "/composite", {"compositeRequest": [
    {"method": "POST", "url": DATA + "/sobjects/Account", "referenceId": "acc", "body": {"Name": "Comp"}},
    {"method": "GET", "url": DATA + "/sobjects/Account/@{acc.id}?fields=Name", "referenceId": "get"},
    {"method": "GET", "url": DATA + "/query?q=" + urllib.parse.quote("SELECT Id FROM Account LIMIT 1"),
     "referenceId": "q"}]})
cr = r.json["compositeResponse"] if r.json else []
ok(r.status == 200 and len(cr) == 3 and cr[0]["httpStatusCode"] == 201 and cr[1]["httpStatusCode"] == 200
   and cr[1]["body"]["Name"] == "Comp" and cr[1]["referenceId"] == "get" and cr[2]["body"]["totalSize"] == 1
   and isinstance(cr[0]["httpHeaders"], dict), "composite with references", r)
after = ctl("GET", "stats").json["apiCalls"]
ok(after - before == 1, "a composite counts as one API call", (before, after))
qa = lambda i: {"method": "GET", "referenceId": "q%d" % i,
                "url": DATA + "/query?q=" + urllib.parse.quote("SELECT Id FROM Account LIMIT %d" % (i + 1))}
r = call("POST", DATA + "/composite", {"compositeRequest": [qa(i) for i in range(5)] + [
    {"method": "GET", "url": DATA + "/sobjects/Account/describe", "referenceId": "d"}]})
cr = r.json["compositeResponse"] if r.json else []
ok(r.status == 200 and len(cr) == 6 and all(c["httpStatusCode"] == 200 for c in cr),
   "composite: five queries and a describe", r)
desc = lambda ref, since: {"method": "GET", "url": DATA + "/sobjects/Account/describe", "referenceId": ref,
                          "httpHeaders": {"If-Modified-Since": since}}
r = call("POST", DATA + "/composite", {"compositeRequest": [
    desc("new", "Fri, 01 Jan 2100 00:00:00 GMT"), desc("old", "Thu, 01 Jan 2004 00:00:00 GMT")]})
cr = r.json["compositeResponse"] if r.json else []
ok(r.status == 200 and len(cr) == 2 and cr[0]["httpStatusCode"] == 304 and cr[0]["body"] is None
   and cr[1]["httpStatusCode"] == 200 and cr[1]["body"]["name"] == "Account"
   and cr[1]["httpHeaders"].get("Last-Modified", "").endswith(" GMT"),
   "composite: a subrequest's own If-Modified-Since (304 unchanged; 200 with Last-Modified)", r)
r = call("POST", DATA + "/composite", {"compositeRequest": [qa(i) for i in range(6)]})
ok(r.status == 400 and r.code() == "INVALID_BATCH_REQUEST" and "at most 5" in r.json[0]["message"],
   "composite: a sixth query is refused (at most 5 query or collection subrequests)", r)
r = call("POST", DATA + "/composite", {"compositeRequest": [qa(i) for i in range(4)] + [
    {"method": "POST", "url": DATA + "/composite/sobjects", "referenceId": "c",
     "body": {"records": [{"attributes": {"type": "Account"}, "Name": "Six"}]}},
    {"method": "GET", "url": DATA + "/queryAll?q=" + urllib.parse.quote("SELECT Id FROM Account"),
     "referenceId": "qa"}]})
ok(r.status == 400 and r.code() == "INVALID_BATCH_REQUEST"
   and not q("SELECT Id FROM Account WHERE Name = 'Six'").json["totalSize"],
   "composite: collections and queryAll count too; nothing of the refused request ran", r)
r = call("POST", DATA + "/composite/batch", {"batchRequests": [
    {"method": "GET", "url": "v59.0/limits"}, {"method": "GET", "url": "v59.0/sobjects/Nope"}]})
ok(r.status == 200 and r.json["hasErrors"] is True and r.json["results"][0]["statusCode"] == 200
   and r.json["results"][1]["statusCode"] == 404, "composite batch", r)

# ---------------------------------------------------------------- merge, conversion
m1 = call("POST", DATA + "/sobjects/Account", {"Name": "Master"}).json["id"]
m2 = call("POST", DATA + "/sobjects/Account", {"Name": "Loser"}).json["id"]
ch = call("POST", DATA + "/sobjects/Contact", {"LastName": "Kid", "AccountId": m2}).json["id"]
stamp0 = call("GET", DATA + "/sobjects/Contact/" + ch).json["SystemModstamp"]
time.sleep(0.01)
r = ctl("POST", "merge", {"type": "Account", "master": m1, "losers": [m2], "fields": {"Phone": "+1 555 0101"}})
ok(r.status == 200 and call("GET", DATA + "/sobjects/Account/" + m1).json["Phone"] == "+1 555 0101"
   and call("GET", DATA + "/sobjects/Account/" + m1).json["Name"] == "Master", "merge; master keeps its values, plus those given", r)
kid = call("GET", DATA + "/sobjects/Contact/" + ch).json
ok(kid["AccountId"] == m1 and kid["SystemModstamp"] > stamp0, "children re-parented, stamps bumped", kid)
r = q("SELECT Id, IsDeleted, MasterRecordId FROM Account WHERE Id = '%s'" % m2, all=True)
ok(r.json["records"][0]["MasterRecordId"] == m1 and r.json["records"][0]["IsDeleted"], "loser in the bin with MasterRecordId", r)
cl = call("POST", DATA + "/sobjects/Lead", {"LastName": "Conv", "Company": "ConvCo", "Email": "c@example.com"}).json["id"]
r = ctl("POST", "convert-lead", {"leadId": cl})
ok(r.status == 200 and r.json["accountId"].startswith("001") and r.json["contactId"].startswith("003")
   and r.json["opportunityId"].startswith("006"), "convert-lead", r)
lr = call("GET", DATA + "/sobjects/Lead/" + cl).json
ok(lr["IsConverted"] is True and lr["Status"] == "Closed - Converted" and lr["ConvertedContactId"] == r.json["contactId"]
   and re.match(r"^\d{4}-\d\d-\d\d$", lr["ConvertedDate"]), "converted lead fields", lr)
r = call("PATCH", DATA + "/sobjects/Lead/" + cl, {"Title": "x"})
ok(r.status == 400 and r.code() == "CANNOT_UPDATE_CONVERTED_LEAD", "a converted lead rejects updates", r)

# ---------------------------------------------------------------- control plane
r = ctl("POST", "records/Lead", {"fields": {"LastName": "Crm", "Company": "c"}, "ts": "2024-03-01T10:00:00Z"})
crm = r.json["id"]
rec = call("GET", DATA + "/sobjects/Lead/" + crm).json
ok(rec["SystemModstamp"] == "2024-03-01T10:00:00.000+0000" and rec["CreatedById"] != USER_ID,
   "control create as a CRM user with a timestamp", rec)
ctl("POST", "touch", {"type": "Lead", "ids": [crm], "ts": "2024-03-02T10:00:00Z"})
rec = call("GET", DATA + "/sobjects/Lead/" + crm).json
ok(rec["SystemModstamp"] == "2024-03-02T10:00:00.000+0000" and rec["LastModifiedDate"] == "2024-03-01T10:00:00.000+0000",
   "touch bumps SystemModstamp only", rec)
r = ctl("POST", "late-commit", {"type": "Lead", "id": crm, "fields": {"Title": "Late"}, "ts": "2024-02-01T00:00:00Z"})
rec = call("GET", DATA + "/sobjects/Lead/" + crm).json
ok(r.status == 200 and rec["SystemModstamp"] == "2024-02-01T00:00:00.000+0000" and rec["Title"] == "Late", "late-commit", rec)
ctl("POST", "fls", {"object": "Lead", "field": "Title", "edit": False})
err_is(call("PATCH", DATA + "/sobjects/Lead/" + crm, {"Title": "x"}), 400, "INVALID_FIELD_FOR_INSERT_UPDATE",
       "fls edit=false -> INVALID_FIELD_FOR_INSERT_UPDATE")
ctl("POST", "fls", {"object": "Lead", "field": "Title", "edit": True})
r = ctl("POST", "validation", {"object": "Lead", "field": "Title", "reject": "Intern",
                                "message": "Interns are not leads"})
ok(r.status == 200 and len(r.json["rules"]) == 1, "add a validation rule", r)
r = call("PATCH", DATA + "/sobjects/Lead/" + crm, {"Title": "intern"})
ok(r.status == 400 and r.json == [{"message": "Interns are not leads", "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                   "fields": ["Title"]}], "FIELD_CUSTOM_VALIDATION_EXCEPTION", r)
err_is(call("POST", DATA + "/sobjects/Lead", {"LastName": "x", "Company": "c", "Title": "Intern"}), 400,
       "FIELD_CUSTOM_VALIDATION_EXCEPTION", "validation rules apply on create")
ctl("POST", "validation", {"object": "Lead", "field": "Email", "duplicates": True, "reject": "any"})
call("POST", DATA + "/sobjects/Lead", {"LastName": "d1", "Company": "c", "Email": "dupe@example.com"})
r = call("POST", DATA + "/composite/sobjects", {"records": [
    {"attributes": {"type": "Lead"}, "LastName": "d2", "Company": "c", "Email": "DUPE@example.com"}]})
ok(r.json == [{"success": False, "errors": [{"statusCode": "DUPLICATES_DETECTED", "message": "Use one of these records?",
                                             "fields": []}]}], "duplicate rule -> DUPLICATES_DETECTED", r)
ctl("DELETE", "validation")
ok(call("PATCH", DATA + "/sobjects/Lead/" + crm, {"Title": "intern"}).status == 204, "DELETE clears the rules")
ctl("POST", "config", {"cursorTtlMs": 300})
r = q("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
time.sleep(0.5)
err_is(call("GET", r.json["nextRecordsUrl"]), 400, "INVALID_QUERY_LOCATOR", "cursor TTL elapses between pages")
ctl("POST", "config", {"cursorTtlMs": -1})
r = ctl("POST", "clock", {"set": "2030-01-01T00:00:00Z", "freeze": True})
ok(r.json["now"] == "2030-01-01T00:00:00.000+0000" and r.json["frozen"], "clock set and freeze", r)
r = ctl("POST", "clock", {"advance": 60})
ok(r.json["now"] == "2030-01-01T00:01:00.000+0000", "clock advance", r)
x = call("POST", DATA + "/sobjects/Lead", {"LastName": "Clock", "Company": "c"}).json["id"]
ok(call("GET", DATA + "/sobjects/Lead/" + x).json["CreatedDate"] == "2030-01-01T00:01:00.000+0000", "stamps from the clock")
ctl("POST", "clock", {"set": int(time.time() * 1000), "freeze": False})

r = ctl("POST", "faults", {"method": "GET", "path": DATA + "/limits", "status": 503, "contentType": "text/html",
                           "once": True})
ok(r.status == 200 and r.json["id"] > 0, "add a fault", r)
r = call("GET", DATA + "/limits")
ok(r.status == 503 and r.headers["content-type"] == "text/html" and "<html>" in r.raw, "503 HTML fault", r)
ok(call("GET", DATA + "/limits").status == 200, "once: the next call passes")
ctl("POST", "faults", {"path": DATA + "/sobjects", "status": 400, "errorCode": "UNABLE_TO_LOCK_ROW",
                       "message": "unable to obtain exclusive access to this record", "after": 1, "count": 2})
codes = [call("GET", DATA + "/sobjects/Lead/" + LID).status for _ in range(4)]
ok(codes == [200, 400, 400, 200], "after N, count", codes)
ctl("POST", "faults", {"path": DATA + "/limits", "status": 500})
r = call("GET", DATA + "/limits")
ok(r.status == 500 and r.code() == "UNKNOWN_EXCEPTION", "500 UNKNOWN_EXCEPTION fault", r)
ok(ctl("DELETE", "faults").status == 200 and call("GET", DATA + "/limits").status == 200, "DELETE clears faults")
ctl("POST", "faults", {"path": DATA + "/limits", "drop": True, "once": True})
try:
    call("GET", DATA + "/limits")
    dropped = False
except (http.client.HTTPException, ConnectionError, socket.error):
    dropped = True
ok(dropped, "dropped connection")
ctl("POST", "faults", {"path": DATA + "/limits", "truncate": True, "once": True})
try:
    r = call("GET", DATA + "/limits")
    truncated = r.json is None
except (http.client.HTTPException, ConnectionError, socket.error):
    truncated = True
ok(truncated, "truncated body")
ctl("POST", "faults", {"path": DATA + "/limits", "delayMs": 300, "once": True})
t0 = time.time()
ok(call("GET", DATA + "/limits").status == 200 and time.time() - t0 >= 0.3, "delay")

lim = ctl("POST", "limits", {"remaining": 0}).json
ok(lim["remaining"] == 0, "limits control", lim)
r = call("GET", DATA + "/limits")
ok(r.status == 403 and r.json == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
   "REQUEST_LIMIT_EXCEEDED at zero", r)
ctl("POST", "limits", {"max": 100000, "used": 10})
ok(call("GET", DATA + "/limits").headers["sforce-limit-info"] == "api-usage=11/100000", "limits reset")

s = ctl("GET", "stats").json
ok(s["byEndpoint"].get("query", 0) > 0 and s["byEndpoint"].get("composite") and s["apiCalls"] > 0, "stats by endpoint", s)
call("GET", DATA + "/query?q=" + urllib.parse.quote("SELECT Id FROM Lead LIMIT 1"),
     headers={"Sforce-Query-Options": "batchSize=500"})
lg = ctl("GET", "log?limit=1").json["requests"][-1]
ok(lg["headers"].get("Sforce-Query-Options") == "batchSize=500" and lg["headers"]["Authorization"] == "Bearer ***"
   and lg["method"] == "GET" and lg["status"] == 200 and lg["args"]["q"].startswith("SELECT"), "log", lg)
lg = [x for x in ctl("GET", "log").json["requests"] if x["path"] == "/services/oauth2/token"]
ok(lg and all("sync-password" not in json.dumps(x) for x in lg), "log redacts secrets")
d = ctl("GET", "dump/Lead").json
drec = [x for x in d["records"] if x["Id"] == DL]
ok(d["count"] == len(d["records"]) and any(x["IsDeleted"] for x in d["records"]) and drec
   and "Title" in drec[0], "dump includes deleted rows", d["count"])
ok(ctl("POST", "tokens/expire").status == 200 and call("GET", DATA + "/limits").status == 401, "tokens/expire")
TOKEN = login().json["access_token"]

# ---------------------------------------------------------------- ids
for a, b in [("a0BA0000000L2ZC", "a0BA0000000L2ZCMA0"), ("AAaAAbbBBBCcCCC", "AAaAAbbBBBCcCCC123"),
             ("ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNO555"), ("70130000001tcyI", "70130000001tcyIAAQ"),
             ("001D000000IRFma", "001D000000IRFmaIAH")]:
    ok(ctl("GET", "id18?id=" + a).json.get("id") == b, "id checksum %s -> %s" % (a, b))
ids = [x["Id"] for x in ctl("GET", "dump/Lead").json["records"]]
ok(all(ctl("GET", "id18?id=" + i[:15]).json["id"] == i for i in ids[:20])
   and any(c.islower() for i in ids for c in i[3:15]) and any(c.isupper() for i in ids for c in i[3:15]),
   "emulator ids: valid checksums, mixed case")

r = ctl("POST", "reset")
ok(r.status == 200 and call("GET", DATA + "/limits").status == 401 and
   (login().status == 200), "reset drops records and tokens")
TOKEN = login().json["access_token"]
ok(q("SELECT COUNT() FROM Lead").json["totalSize"] == 0, "reset empties the tables")
r = ctl("POST", "seed", {"spec": "leads=25,accounts=3"})
ok(r.status == 200 and q("SELECT COUNT() FROM Lead").json["totalSize"] >= 24, "seed control", r)
r = ctl("POST", "seed", {"records": {"Lead": [{"Id": "00Q000000000001AAA"[:15], "LastName": "Fixed", "Company": "c",
                                              "SystemModstamp": "2024-05-05T05:05:05Z"}]}})
ok(r.status == 200 and call("GET", DATA + "/sobjects/Lead/" + r.json["ids"]["Lead"][0]).json["SystemModstamp"]
   == "2024-05-05T05:05:05.000+0000", "seed explicit records with ids and stamps", r)
err_is(call("GET", "/services/data/v59.0/__emu/stats"), 404, "NOT_FOUND", "the control plane is not under /services")

# ---------------------------------------------------------------- archived activities (spec 2.3)
now_ms = ctl("GET", "clock").json["nowMs"]
def day(offset_days):
    return time.strftime("%Y-%m-%d", time.gmtime(now_ms / 1000 + offset_days * 86400))
def mk(t, fields):
    r = call("POST", DATA + "/sobjects/" + t, fields)
    return r.json["id"] if r.status == 201 else ok(False, "create " + t, r)
T_OLD = mk("Task", {"Subject": "Call", "Status": "Completed", "Priority": "Normal", "ActivityDate": day(-400)})
T_NEW = mk("Task", {"Subject": "Call", "Status": "Completed", "Priority": "Normal", "ActivityDate": day(-30)})
T_OPEN = mk("Task", {"Subject": "Call", "Status": "Not Started", "Priority": "Normal", "ActivityDate": day(-400)})
old_start = time.strftime("%Y-%m-%dT10:00:00Z", time.gmtime(now_ms / 1000 - 500 * 86400))
E_OLD = mk("Event", {"Subject": "Meeting", "StartDateTime": old_start, "EndDateTime": old_start.replace("T10", "T11"),
                     "ActivityDateTime": old_start, "ActivityDate": old_start[:10], "DurationInMinutes": 60})
ACT = [T_OLD, T_NEW, T_OPEN]
act_in = "('%s')" % "','".join(ACT)
stamp_before = call("GET", DATA + "/sobjects/Task/" + T_OLD).json["SystemModstamp"]
r = ctl("POST", "archive", {"olderThanDays": 365})
ok(r.status == 200 and r.json.get("archived") == 2,
   "archive by age: the closed task and the event older than 365 days, not the open one", r)
rows = q("SELECT Id FROM Task WHERE Id IN " + act_in).json["records"]
ok(sorted(x["Id"] for x in rows) == sorted([T_NEW, T_OPEN]), "query hides an archived task", rows)
ok(q("SELECT Id FROM Task WHERE IsArchived = true AND Id IN " + act_in).json["totalSize"] == 0,
   "query hides archived tasks even when asked for them")
rows = q("SELECT Id, IsArchived FROM Task WHERE Id IN " + act_in, all=True).json["records"]
ok(sorted((x["Id"], x["IsArchived"]) for x in rows) == sorted([(T_OLD, True), (T_NEW, False), (T_OPEN, False)]),
   "queryAll shows the archived task with IsArchived = true", rows)
ok(q("SELECT Id FROM Event WHERE Id = '%s'" % E_OLD).json["totalSize"] == 0
   and q("SELECT Id FROM Event WHERE Id = '%s'" % E_OLD, all=True).json["totalSize"] == 1,
   "archived event: hidden from query, shown by queryAll")
n_q, n_all = q("SELECT COUNT() FROM Task").json["totalSize"], q("SELECT COUNT() FROM Task", all=True).json["totalSize"]
ok(n_all >= n_q + 1, "COUNT(): queryAll counts archived rows, query does not", (n_q, n_all))
r = call("GET", DATA + "/sobjects/Task/" + T_OLD)
ok(r.status == 200 and r.json["IsArchived"] is True and r.json["Id"] == T_OLD,
   "an archived task is still retrievable by id", r)
ok(r.json["SystemModstamp"] == stamp_before, "archiving leaves SystemModstamp alone by default", r)
err_is(call("PATCH", DATA + "/sobjects/Task/" + T_NEW, {"IsArchived": True}), 400,
       "INVALID_FIELD_FOR_INSERT_UPDATE", "IsArchived is read-only through the API")
r = ctl("POST", "archive", {"ids": [T_OLD], "unarchive": True})
ok(r.status == 200 and r.json.get("unarchived") == 1
   and q("SELECT COUNT() FROM Task WHERE Id = '%s'" % T_OLD).json["totalSize"] == 1, "unarchive by id", r)
ctl("POST", "clock", {"advance": 5})
r = ctl("POST", "archive", {"type": "Task", "ids": [T_NEW, T_OLD[:15]], "touch": True})
rec = call("GET", DATA + "/sobjects/Task/" + T_NEW).json
ok(r.status == 200 and r.json.get("archived") == 2 and rec["IsArchived"] is True
   and rec["SystemModstamp"] > stamp_before, "archive by ids (15 or 18 chars), touch bumps SystemModstamp", (r, rec))
r = ctl("POST", "archive", {"type": "Task", "ids": [T_OPEN, T_NEW], "olderThanDays": 365})
ok(r.status == 200 and r.json.get("archived") == 0, "ids with olderThanDays: only those old enough (and closed)", r)
r = ctl("POST", "records/Task", {"op": "update", "id": T_OPEN, "fields": {"IsArchived": True}})
ok(r.status == 200 and q("SELECT COUNT() FROM Task WHERE Id = '%s'" % T_OPEN).json["totalSize"] == 0,
   "records/Task with IsArchived archives too", r)
ok(ctl("POST", "archive", {}).status == 400 and ctl("POST", "archive", {"type": "Lead", "ids": []}).status == 400
   and ctl("POST", "archive", {"olderThanDays": "x"}).status == 400, "archive: bad requests -> 400")

# ---------------------------------------------------------------- queues: OwnerId -> User | Group
ok(q("SELECT COUNT() FROM Group").json["totalSize"] == 0, "a seed without queues makes no Group rows")
r = ctl("POST", "seed", {"spec": "users=2,queues=3,leads=300,tasks=100,events=60", "rng": 5})
groups = q("SELECT Id, Name, Type, DeveloperName, Email FROM Group WHERE Type = 'Queue' ORDER BY Name").json["records"]
ok(r.status == 200 and len(groups) == 3 and all(g["Id"].startswith("00G") and g["DeveloperName"] for g in groups)
   and groups[0]["attributes"]["type"] == "Group", "seed queues=3: three queues (Group, Type Queue)", groups)
gname = {g["Id"]: g["Name"] for g in groups}
gin = "('%s')" % "','".join(gname)
ql = all_records("SELECT Id, OwnerId, Owner.Name, Owner.Username, Owner.Email FROM Lead WHERE OwnerId IN " + gin)
ok(len(ql) > 10 and all(x["Owner"]["Name"] == gname[x["OwnerId"]] and x["Owner"]["Username"] is None
                        and x["Owner"]["attributes"]["url"].endswith("/sobjects/Group/" + x["OwnerId"])
                        and x["Owner"]["attributes"]["type"] == "Group" for x in ql),
   "queue-owned leads: Owner.Name is the queue's, a field queues lack (Username) is null", ql[:2])
emails = {g["Id"]: g["Email"] for g in groups}
ok(all(x["Owner"]["Email"] == emails[x["OwnerId"]] for x in ql), "Owner.Email of a queue is the queue's Email")
ul = q("SELECT Id, Owner.Name, Owner.Username FROM Lead WHERE Owner.Username != null LIMIT 5").json["records"]
ok(ul and all(x["Owner"]["attributes"]["type"] == "User" and x["Owner"]["Name"] for x in ul),
   "user-owned leads still read the user", ul[:1])
qn = groups[0]["Name"]
r = q("SELECT Id, OwnerId FROM Lead WHERE Owner.Name = '%s'" % qn.replace("'", "\\'"))
ok(r.status == 200 and r.json["totalSize"] > 0 and all(x["OwnerId"] == groups[0]["Id"] for x in r.json["records"]),
   "WHERE Owner.Name = <queue name>", r)
ok(q("SELECT COUNT() FROM Task WHERE OwnerId IN " + gin).json["totalSize"] > 0,
   "with queues seeded some tasks are queue-owned too")
lw = [x for x in all_records("SELECT WhoId, Who.Name FROM Task WHERE WhoId != null") if x["WhoId"].startswith("00Q")]
ok(lw and all(x["Who"]["Name"] and x["Who"]["attributes"]["type"] == "Lead" for x in lw),
   "Who (Contact or Lead) reads a lead's Name too", lw[:1])
r = ctl("POST", "records/Group", {"op": "create", "fields": {"Name": "Web Leads", "DeveloperName": "Web_Leads",
                                                          "Type": "Queue", "Email": "web-leads@example.com"}})
QID = r.json.get("id", "")
ok(r.status == 200 and QID.startswith("00G"), "control plane creates a queue", r)
g = call("GET", DATA + "/sobjects/Group/" + QID)
ok(g.status == 200 and g.json["Name"] == "Web Leads" and g.json["Type"] == "Queue", "GET a Group by id", g)
d = call("GET", DATA + "/sobjects/Lead/describe").json
of = [f for f in d["fields"] if f["name"] == "OwnerId"][0]
ok(of["referenceTo"] == ["User", "Group"] and of["polymorphicForeignKey"] is True,
   "describe: Lead.OwnerId references User and Group", of)
L1 = q("SELECT Id FROM Lead WHERE Owner.Username != null LIMIT 1").json["records"][0]["Id"]
T1 = q("SELECT Id FROM Task LIMIT 1").json["records"][0]["Id"]
E1 = q("SELECT Id FROM Event LIMIT 1").json["records"][0]["Id"]
for t, i in [("Lead", L1), ("Task", T1), ("Event", E1)]:
    r = call("PATCH", DATA + "/sobjects/%s/%s" % (t, i), {"OwnerId": QID})
    rec = q("SELECT OwnerId, Owner.Name FROM %s WHERE Id = '%s'" % (t, i)).json["records"]
    ok(r.status == 204 and rec and rec[0]["OwnerId"] == QID and rec[0]["Owner"]["Name"] == "Web Leads",
       "%s.OwnerId accepts a queue; Owner.Name reads it" % t, (r, rec))
mk_lead = call("POST", DATA + "/sobjects/Lead", {"LastName": "Queued", "Company": "Q", "OwnerId": QID})
ok(mk_lead.status == 201, "create a lead owned by a queue", mk_lead)
C1 = mk("Contact", {"LastName": "Owned"})
A1 = mk("Account", {"Name": "Owned"})
O1 = mk("Opportunity", {"Name": "Owned", "StageName": "Prospecting", "CloseDate": day(30)})
for t, i in [("Contact", C1), ("Account", A1), ("Opportunity", O1)]:
    r = call("PATCH", DATA + "/sobjects/%s/%s" % (t, i), {"OwnerId": QID})
    ok(r.status == 400 and r.code() == "FIELD_INTEGRITY_EXCEPTION" and r.json[0]["fields"] == ["OwnerId"]
       and call("GET", DATA + "/sobjects/%s/%s" % (t, i)).json["OwnerId"] != QID,
       "%s.OwnerId refuses a queue (FIELD_INTEGRITY_EXCEPTION)" % t, r)
err_is(call("POST", DATA + "/sobjects/Contact", {"LastName": "x", "OwnerId": QID}), 400,
       "FIELD_INTEGRITY_EXCEPTION", "create a contact owned by a queue is refused")
err_is(call("PATCH", DATA + "/sobjects/Lead/" + L1, {"OwnerId": "00G000000000zzzAAA"[:15]}), 400,
       "INVALID_CROSS_REFERENCE_KEY", "a queue id that does not exist")

# ---------------------------------------------------------------- per-app API usage in Sforce-Limit-Info
def limit_info(r):
    return r.headers.get("sforce-limit-info", "")
r = call("GET", DATA + "/limits")
ok(re.match(r"^api-usage=\d+/\d+$", limit_info(r)) is not None, "no per-app part unless configured", limit_info(r))
r = ctl("POST", "limits", {"app": {"clientId": "crmsync-demo", "name": "crmsync", "max": 250}})
ok(r.status == 200 and r.json["app"] == {"clientId": "crmsync-demo", "name": "crmsync", "max": 250, "used": 0},
   "limits: app allowance for the connected app", r)
h1, h2 = limit_info(call("GET", DATA + "/limits")), limit_info(q("SELECT Id FROM Lead LIMIT 1"))
m1 = re.match(r"^api-usage=(\d+)/(\d+); per-app-api-usage=(\d+)/250\(appName=crmsync\)$", h1)
m2 = re.match(r"^api-usage=(\d+)/(\d+); per-app-api-usage=(\d+)/250\(appName=crmsync\)$", h2)
ok(m1 and m2 and int(m1.group(3)) == 1 and int(m2.group(3)) == 2 and int(m2.group(1)) == int(m1.group(1)) + 1,
   "Sforce-Limit-Info: api-usage=U/M; per-app-api-usage=N/250(appName=crmsync), counting the app's calls", (h1, h2))
r = call("GET", DATA + "/limits", token="bogus")
ok(r.status == 401 and "per-app" not in limit_info(r), "no per-app part on a call without the app's token", limit_info(r))
ok(ctl("GET", "limits").json["app"]["used"] == 2, "calls without a valid token do not count for the app")
ctl("POST", "limits", {"app": {"clientId": "crmsync-demo", "name": "crmsync", "max": 250, "used": 250}})
r = call("GET", DATA + "/limits")
ok(r.status == 200 and "per-app-api-usage=251/250(appName=crmsync)" in limit_info(r),
   "an exhausted app allowance is reported, not enforced (the spec names no error for it)", (r.status, limit_info(r)))
ctl("POST", "limits", {"app": {"clientId": "another-app", "name": "other", "max": 100}})
r = call("GET", DATA + "/limits")
ok("per-app" not in limit_info(r) and ctl("GET", "limits").json["app"]["used"] == 0,
   "tokens of another client id do not count for an app", limit_info(r))
ok(ctl("POST", "limits", {"app": {"clientId": "x", "name": "bad)name", "max": 5}}).status == 400
   and ctl("POST", "limits", {"app": {"clientId": "x", "name": "n", "max": 0}}).status == 400, "app: bad settings -> 400")
r = ctl("POST", "limits", {"app": None})
ok(r.status == 200 and r.json["app"] is None and "per-app" not in limit_info(call("GET", DATA + "/limits")),
   "app: null removes the per-app part", r)

if os.environ.get("TAP_COUNT_FILE"):  # test_api.sh adds its own lines and the plan
    with open(os.environ["TAP_COUNT_FILE"], "w") as f:
        f.write("%d\n" % N)
else:
    print("1..%d" % N)
sys.exit(1 if FAILED else 0)
