#!/usr/bin/python3
"""The seed guide's REST helper against a running rosfw.

mikrotik_api_call below is the seed's "Universal API Helper Function"
(requests, HTTPS, Basic auth, JSON bodies, verify=False), pointed at the
router under test. Through it this script makes the changes of the seed's
CLI block in its order -- the firewall filter adds, the queue tree adds
(with the v6 name packet-marks) and the mangle adds -- each as a PUT, then
compares the result with a fresh store into which examples/seed.rsc was
imported leniently (run.sh prepares that store and serves it on a second
router).

What is compared, and why:
  * /ip/firewall/filter, /ip/firewall/mangle and /queue/tree as GET returns
    them, item by item and in order;
  * on the router under test, only the items whose ids the PUTs returned:
    its store also holds the built-in default configuration, which the
    fresh store (created with --no-defaults) does not; those default items
    must come out of the run unchanged, which is checked separately;
  * every property GET reports, except .id (assigned by each store) and the
    runtime counters (bytes, packets, rates, queued/dropped, lends/borrows):
    traffic flows on a running router, so they are not configuration;
  * the created items come last in each list, in the order of the PUTs,
    as a console `add` would have placed them.
The seed's `set [find default-forward=yes] ...` line has no effect in
either path (lenient import skips it; the seed's API script leaves it out).

usage: test_rest.py ROUTER FRESH_ROUTER USER PASSWORD
  ROUTER: host:port of the router's www-ssl; FRESH_ROUTER: base URL of the
  router serving the imported store.
Prints "ok N" and exits 0 when everything holds.
"""
import sys

import requests
import urllib3
from requests.auth import HTTPBasicAuth

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

ROUTER_IP = sys.argv[1]
FRESH = sys.argv[2]
API_USER = sys.argv[3]
API_PASS = sys.argv[4]
SSL_VERIFY = False

COUNTERS = {"bytes", "packets", "rate", "packet-rate", "queued-bytes",
            "queued-packets", "dropped", "lends", "borrows"}

ok = 0


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    global ok
    if not cond:
        fail(msg)
    ok += 1


# Universal API Helper Function (the seed's, with the router's address)
def mikrotik_api_call(
    method: str,
    endpoint: str,
    data: dict = None,
    timeout: int = 10
) -> dict:
    '''
    Universal MikroTik API handler with error checking
    '''
    try:
        response = requests.request(
            method,
            f"https://{ROUTER_IP}/rest{endpoint}",
            auth=HTTPBasicAuth(API_USER, API_PASS),
            json=data,
            verify=SSL_VERIFY,
            timeout=timeout
        )
        response.raise_for_status()
        return response.json()
    except requests.exceptions.HTTPError as e:
        print(f"API Error: {e.response.status_code} - {e.response.text}")
        return {"error": str(e)}


FILTER = [
    dict(chain='input', connection_state='invalid', action='drop', comment='Drop invalid connections (Input)'),
    dict(chain='forward', connection_state='invalid', action='drop', comment='Drop invalid connections (Forward)'),
    dict(chain='input', connection_state='established,related', action='accept', comment='Allow established/related (Input)'),
    dict(chain='forward', connection_state='established,related', action='accept', comment='Allow established/related (Forward)'),
    dict(chain='input', src_address='192.168.88.0/24', in_interface='ether2-master-local', action='accept', comment='Allow LAN Input'),
    dict(chain='input', src_address='192.168.88.0/24', in_interface='wlan1', action='accept', comment='Allow WiFi Input'),
    dict(chain='input', action='drop', comment='Drop all other Input'),
]
QUEUE_TREE = [
    dict(name='WAN-Outbound', parent='ether1-gateway', limit_at='0', max_limit='10M', comment='WAN Outbound Queue - Total Bandwidth'),
    dict(name='High-Priority', parent='WAN-Outbound', packet_marks='high-priority', priority='1', limit_at='0', max_limit='5M', comment='High Priority Traffic Queue - VoIP/Video'),
    dict(name='Normal-Priority', parent='WAN-Outbound', packet_marks='normal-priority', priority='3', limit_at='0', max_limit='7M', comment='Normal Priority Traffic Queue - Web/Email'),
    dict(name='Low-Priority', parent='WAN-Outbound', packet_marks='low-priority', priority='7', limit_at='0', max_limit='3M', comment='Low Priority Traffic Queue - Downloads'),
]
MANGLE = [
    dict(chain='forward', protocol='udp', dst_port='5060,5061', action='mark-packet', new_packet_mark='high-priority', comment='Mark VoIP SIP for High Priority'),
    dict(chain='forward', protocol='udp', dst_port='10000-20000', action='mark-packet', new_packet_mark='high-priority', comment='Mark VoIP RTP for High Priority'),
    dict(chain='forward', protocol='tcp', dst_port='80,443', action='mark-packet', new_packet_mark='normal-priority', comment='Mark Web Browsing (HTTP/HTTPS) as Normal'),
    dict(chain='forward', action='mark-packet', new_packet_mark='low-priority', comment='Mark all other traffic as Low Priority (Default)'),
]
MENUS = [("/ip/firewall/filter", FILTER), ("/queue/tree", QUEUE_TREE),
         ("/ip/firewall/mangle", MANGLE)]


def kebab(d):
    # what routeros_api does to Python keyword arguments: _ becomes -
    return {k.replace('_', '-'): v for k, v in d.items()}


def config(row):
    return {k: v for k, v in row.items() if k != ".id" and k not in COUNTERS}


def fresh_get(path):
    r = requests.get(f"{FRESH}/rest{path}", auth=HTTPBasicAuth(API_USER, API_PASS),
                     timeout=10)
    r.raise_for_status()
    return r.json()


# automation tools read this first
res = mikrotik_api_call("GET", "/system/resource")
check(isinstance(res, dict) and res.get("version", "").startswith("7.16 ("),
      f"/system/resource version: {res}")

before = {path: mikrotik_api_call("GET", path) for path, _ in MENUS}
for path, rows in before.items():
    check(isinstance(rows, list), f"GET {path}: {rows}")

created = {}
for path, adds in MENUS:
    created[path] = []
    for add in adds:
        body = kebab(add)
        got = mikrotik_api_call("PUT", path, body)
        check(isinstance(got, dict) and "error" not in got and got.get(".id", "").startswith("*"),
              f"PUT {path} {body}: {got}")
        check(list(got)[0] == ".id", f"PUT reply does not start with .id: {got}")
        check(all(isinstance(v, str) for v in got.values()), f"non-string value in {got}")
        for k, v in body.items():
            k = "packet-mark" if k == "packet-marks" else k
            check(got.get(k) == v, f"PUT {path}: {k}={v} came back as {got.get(k)}")
        created[path].append(got[".id"])

for path, _ in MENUS:
    after = mikrotik_api_call("GET", path)
    ids = created[path]
    mine = [r for r in after if r[".id"] in ids]
    rest = [r for r in after if r[".id"] not in ids]
    check([r[".id"] for r in after[-len(ids):]] == ids,
          f"{path}: the created items are not last, in order")
    check([config(r) for r in rest] == [config(r) for r in before[path]],
          f"{path}: the items that were there before changed")
    want = [config(r) for r in fresh_get(path)]
    got = [config(r) for r in mine]
    check(len(got) == len(want), f"{path}: {len(got)} items through REST, {len(want)} imported")
    for g, w in zip(got, want):
        check(g == w, f"{path}: through REST {g}\n  imported {w}")
    # each created item by its id, as an object
    one = mikrotik_api_call("GET", f"{path}/{ids[0]}")
    check(one == mine[0], f"GET {path}/{ids[0]}: {one}")
    # get reads the counters the item shows (RouterOS answers {"ret": ...})
    for c in ("bytes", "packets"):
        if c in one:
            got = mikrotik_api_call("POST", f"{path}/get", {".id": ids[0], "value-name": c})
            check(got == {"ret": one[c]}, f"POST {path}/get value-name={c}: {got}, shown {one[c]}")

# the seed's mistake is visible through REST too: every mark rule passes through
marks = mikrotik_api_call("POST", "/ip/firewall/mangle/print",
                          {".proplist": "comment,passthrough",
                           ".query": ["passthrough=true", "new-packet-mark=low-priority"]})
check(isinstance(marks, list) and {"comment": "Mark all other traffic as Low Priority (Default)",
                                   "passthrough": "true"} in marks,
      f"print with .query: {marks}")

print(f"ok {ok}")
