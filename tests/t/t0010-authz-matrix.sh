#!/usr/bin/env bash
# Role × account matrix: every foundation route, called by each role of account A, by an admin of
# account B and without a token, answers the expected status (404, not 403, for B on A's objects;
# B's lists never show A's data). The route tables are read from the source so a new foundation
# route without a row here fails the test; every route of every table answers 401 without a token
# unless it is public or authenticates itself.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111 B=222222222222
mk_account $A; mk_account $B
export A B
export T_v=$(user vw $A viewer) T_r=$(user rq $A requester) T_o=$(user op $A operator)
export T_a=$(user ap $A approver) T_A=$(user ad $A admin) T_u=$(user au $A auditor) T_B=$(user bd $B admin)
export FW_ROOT
python3 - <<'PY'
import http.client, json, os, re, sys, glob, itertools
url = os.environ["FW_URL"]; host, port = url[len("http://"):].split(":")
A, B, ADMIN, ROOT = os.environ["A"], os.environ["B"], os.environ["ADMIN"], os.environ["FW_ROOT"]
roles = ["v", "r", "o", "a", "A", "u", "B", "-"]
names = {"v": "viewer of A", "r": "requester of A", "o": "operator of A", "a": "approver of A",
         "A": "admin of A", "u": "auditor of A", "B": "admin of B", "-": "no token"}
tok = {k: os.environ.get("T_" + k) for k in roles if k != "-"}
conn = http.client.HTTPConnection(host, int(port), timeout=30)
n_ok = n_fail = 0

def call(method, path, body=None, token=None):
    global conn
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    for attempt in range(2):
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            raw = r.read().decode("utf-8", "replace")
            return r.status, raw
        except (http.client.HTTPException, OSError):
            conn.close(); conn = http.client.HTTPConnection(host, int(port), timeout=30)
    raise SystemExit("not ok - daemon stopped answering %s %s" % (method, path))

def check(cond, desc, extra=""):
    global n_ok, n_fail
    if cond:
        n_ok += 1; print("ok - " + desc)
    else:
        n_fail += 1; print("not ok - " + desc); extra and print("#   " + extra)

def mk(kind, body):
    st, raw = call("POST", "/api/v1/" + kind, body, ADMIN)
    assert st == 201, (kind, st, raw)
    return json.loads(raw)["id"]

# Objects of account A.
INC = mk("incidents", {"account": A, "title": "inc A"})
PRB = mk("problems", {"account": A, "title": "prb A"})
SR = mk("requests", {"account": A, "title": "sr A"})
CHG = mk("changes", {"account": A, "title": "chg A"})
call("PATCH", "/api/v1/incidents/" + INC, {"status": "resolved", "resolution": "fixed"}, ADMIN)
st, raw = call("POST", "/api/v1/articles", {"incident": INC}, ADMIN); KB = json.loads(raw)["id"]
st, raw = call("POST", "/api/v1/principals", {"name": "only-a", "roles": [{"account": A, "role": "viewer"}]}, ADMIN)
PRN = json.loads(raw)["id"]
counter = itertools.count(1)

def fresh(what):
    i = next(counter)
    if what == "INC":
        return mk("incidents", {"account": A, "title": "fresh %d" % i})
    if what == "CHG":  # a high-risk change in review, authored by the global admin
        c = mk("changes", {"account": A, "title": "fresh %d" % i, "risk": "high",
                           "affected_resources": ["r"], "rollback_plan": "p"})
        for s in ("submitted", "in_review"):
            call("PATCH", "/api/v1/changes/" + c, {"status": s}, ADMIN)
        return c
    if what == "TOK":
        st, raw = call("POST", "/api/v1/tokens", {"principal": PRN}, ADMIN)
        return json.loads(raw)["id"]
    if what == "ACCT":
        return "3%011d" % i
    if what == "NAME":
        return "fresh-principal-%d" % i
    raise ValueError(what)

def subst(s):
    s = s.replace("@A@", A).replace("@INC@", INC).replace("@PRB@", PRB).replace("@SR@", SR)
    s = s.replace("@CHG@", CHG).replace("@KB@", KB).replace("@PRN@", PRN)
    return re.sub(r"@FRESH_(\w+)@", lambda m: fresh(m.group(1)), s)

# METHOD PATTERN PATH BODY | viewer requester operator approver admin auditor B-admin no-token
TABLE = """
GET /healthz /healthz - | 200 200 200 200 200 200 200 200
GET /readyz /readyz - | 200 200 200 200 200 200 200 200
GET /metrics /metrics - | 200 200 200 200 200 200 200 200
GET /api/v1/version /api/v1/version - | 200 200 200 200 200 200 200 200
GET /api/v1/audit /api/v1/audit - | 403 403 403 403 403 403 403 401
GET /api/v1/audit /api/v1/audit?account=@A@ - | 403 403 403 403 200 200 404 401
GET /api/v1/audit/verify /api/v1/audit/verify - | 403 403 403 403 403 403 403 401
POST /api/v1/accounts /api/v1/accounts {"id":"@FRESH_ACCT@","name":"m","parent":"@A@"} | 403 403 403 403 201 403 403 401
GET /api/v1/accounts /api/v1/accounts - | 200 200 200 200 200 200 200 401
GET /api/v1/accounts/{id} /api/v1/accounts/@A@ - | 200 200 200 200 200 200 404 401
PATCH /api/v1/accounts/{id} /api/v1/accounts/@A@ {"name":"acct A"} | 403 403 403 403 200 403 404 401
POST /api/v1/principals /api/v1/principals {"name":"@FRESH_NAME@","roles":[{"account":"@A@","role":"viewer"}]} | 403 403 403 403 201 403 403 401
GET /api/v1/principals /api/v1/principals - | 200 200 200 200 200 200 200 401
GET /api/v1/principals/{id} /api/v1/principals/@PRN@ - | 404 404 404 404 200 404 404 401
POST /api/v1/principals/{id}/roles /api/v1/principals/@PRN@/roles {"roles":[{"account":"@A@","role":"viewer"}]} | 404 404 404 404 200 404 404 401
DELETE /api/v1/principals/{id}/roles /api/v1/principals/@PRN@/roles {"roles":[{"account":"@A@","role":"requester"}]} | 404 404 404 404 200 404 404 401
POST /api/v1/tokens /api/v1/tokens {"principal":"@PRN@"} | 404 404 404 404 201 404 404 401
GET /api/v1/tokens /api/v1/tokens - | 200 200 200 200 200 200 200 401
DELETE /api/v1/tokens/{id} /api/v1/tokens/@FRESH_TOK@ - | 404 404 404 404 200 404 404 401
GET /api/v1/whoami /api/v1/whoami - | 200 200 200 200 200 200 200 401
POST /api/v1/KIND /api/v1/KIND {"account":"@A@","title":"m"} | 403 201 201 201 201 403 404 401
GET /api/v1/KIND /api/v1/KIND - | 200 200 200 200 200 200 200 401
GET /api/v1/KIND/{id} /api/v1/KIND/@OBJ@ - | 200 200 200 200 200 200 404 401
PATCH /api/v1/KIND/{id} /api/v1/KIND/@OBJ@ {"description":"d"} | 403 200 200 200 200 403 404 401
POST /api/v1/KIND/{id}/comments /api/v1/KIND/@OBJ@/comments {"body":"c"} | 403 201 201 201 201 403 404 401
GET /api/v1/KIND/{id}/timeline /api/v1/KIND/@OBJ@/timeline - | 200 200 200 200 200 200 404 401
POST /api/v1/KIND/{id}/links /api/v1/KIND/@OBJ@/links {"ticket":"@OTHER@"} | 403 403 201 403 201 403 404 401
POST /api/v1/incidents/{id}/reclassify /api/v1/incidents/@FRESH_INC@/reclassify {} | 403 403 201 403 201 403 404 401
POST /api/v1/changes/{id}/approvals /api/v1/changes/@FRESH_CHG@/approvals {} | 403 403 403 200 200 403 404 401
GET /api/v1/tickets/{id} /api/v1/tickets/@INC@ - | 200 200 200 200 200 200 404 401
GET /api/v1/tickets/{id} /api/v1/tickets/@CHG@ - | 200 200 200 200 200 200 404 401
POST /api/v1/articles /api/v1/articles {"account":"@A@","title":"t","body":"b"} | 403 403 201 403 201 403 404 401
GET /api/v1/articles /api/v1/articles - | 200 200 200 200 200 200 200 401
GET /api/v1/articles/{id} /api/v1/articles/@KB@ - | 200 200 200 200 200 200 404 401
"""
rows = []
kinds = {"incidents": (INC, PRB), "problems": (PRB, INC), "requests": (SR, INC), "changes": (CHG, INC)}
for line in TABLE.strip().splitlines():
    left, right = line.split(" | ")
    method, pattern, path, body = left.split(" ", 3)
    want = right.split()
    assert len(want) == len(roles), line
    if "KIND" in pattern:
        for kind, (obj, other) in kinds.items():
            f = lambda s: s.replace("KIND", kind).replace("@OBJ@", obj).replace("@OTHER@", other)
            rows.append((method, f(pattern), f(path), f(body), want))
    else:
        rows.append((method, pattern, path, body, want))

a_ids = [A, INC, PRB, SR, CHG, KB, PRN]
for method, pattern, path, body, want in rows:
    for role, code in zip(roles, want):
        p = subst(path)
        b = None if body == "-" else subst(body)
        st, raw = call(method, p, b, tok.get(role))
        desc = "%s %s as %s: %s" % (method, p, names[role], code)
        check(str(st) == code, desc, "got %s %s" % (st, raw[:300]))
        if st >= 400 and pattern not in ("/metrics",):
            try:
                e = json.loads(raw)["error"]
                ok = isinstance(e.get("code"), str) and isinstance(e.get("message"), str) and e["message"]
            except Exception:
                ok = False
            if not ok:
                check(False, desc + ": error body has code and message", raw[:300])
        if role == "B" and st < 300:
            leaked = [i for i in a_ids if i in raw]
            check(not leaked, desc + ": shows nothing of A", "leaked %s" % leaked)

# Coverage: every route of the foundation tables has a row above.
def table_routes(name):
    for f in glob.glob(os.path.join(ROOT, "src", "**", "*.c"), recursive=True):
        src = open(f, encoding="utf-8", errors="replace").read()
        m = re.search(r"const struct route %s\[\]\s*=\s*\{(.*?)\n\};" % re.escape(name), src, re.S)
        if not m:
            continue
        out = []
        macros = dict(re.findall(r'#define (\w+)\(\w+\)((?:.*\\\n)*.*)', src))
        for line in m.group(1).splitlines():
            mm = re.search(r'(\w+)\("([^"]+)"\)', line)
            if mm and mm.group(1) in macros:
                for r in re.findall(r'\{\s*"(\w+)",\s*"([^"]*)"\s*(\w+)?\s*"?([^"]*)"?\s*,\s*\w+,\s*([\w|]+)\s*\}', macros[mm.group(1)]):
                    out.append((r[0], r[1] + mm.group(2) + r[3], r[4]))
                continue
            for r in re.findall(r'\{\s*"(\w+)",\s*"([^"]+)",\s*\w+,\s*([\w| ]+?)\s*\}', line):
                out.append(r)
        return out
    return None

covered = {(m, p) for m, p, _, _, _ in rows}
for t in ("api_system_routes", "api_account_routes", "api_ticket_routes"):
    routes = table_routes(t)
    check(routes, "route table %s found in the source" % t)
    for m, p, _ in routes or []:
        check((m, p) in covered, "%s %s (%s) is in the matrix" % (m, p, t))

# Every route of every table: 401 without credentials unless public or self-authenticating.
tables = re.findall(r"^\s*(\w+_routes),", open(os.path.join(ROOT, "src/http/routes.c")).read(), re.M)
for t in tables:
    for m, p, flags in table_routes(t) or []:
        if "ROUTE_PUBLIC" in flags or "ROUTE_OWN_AUTH" in flags:
            continue
        st, raw = call(m, re.sub(r"\{\w+\}", "x", p), "{}" if m in ("POST", "PUT", "PATCH") else None)
        check(st == 401, "%s %s without a token: 401" % (m, p), "got %s %s" % (st, raw[:200]))

st, raw = call("GET", "/api/v1/audit/verify", None, ADMIN)
check(json.loads(raw).get("ok") is True, "audit chain intact after the matrix", raw)
print("# %d passed, %d failed" % (n_ok, n_fail))
PY
api "$ADMIN" GET /healthz; is "$STATUS" 200 "the daemon still serves after the matrix"
done_testing
