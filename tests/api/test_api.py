"""The RouterOS API of a running rosfw, through real clients.

librouteros (Debian's python3-librouteros) for login, add/print/set/remove,
queries, listen/cancel, errors, policies and TLS; raw sockets for what
socialwifi's routeros_api sends (it is not packaged here: its wire behaviour
is reproduced word for word) and for hostile input. Run by tests/api/run.sh
against a daemon it started; prints "passed N" and exits non-zero on the
first failure.

Environment: API_PORT, SSL_PORT, ROSFW (binary), SOCK (console socket),
SEED (examples/seed.rsc), TMP (scratch directory), PASSWORD (admin's).
"""
import hashlib
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

import librouteros
from librouteros.exceptions import TrapError
from librouteros.query import Key, Or, And

HOST = '127.0.0.1'
API = int(os.environ['API_PORT'])
SSL_PORT = int(os.environ['SSL_PORT'])
ROSFW = os.environ['ROSFW']
SOCK = os.environ['SOCK']
SEED = os.environ['SEED']
TMP = os.environ['TMP']
PASSWORD = os.environ.get('PASSWORD', 'secret')

passed = 0


def check(cond, what):
    global passed
    if not cond:
        raise AssertionError(what)
    passed += 1


def eq(got, want, what):
    check(got == want, '%s: got %r, want %r' % (what, got, want))


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(user='admin', password=PASSWORD, port=API, tls=False, **kw):
    if tls:
        ctx = tls_context()
        kw['ssl_wrapper'] = lambda s: ctx.wrap_socket(s, server_hostname='rosfw')
    return librouteros.connect(HOST, user, password, port=port, **kw)


def console(text):
    return subprocess.run([ROSFW, 'console', '--socket', SOCK], input=text.encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=30).stdout.decode()


def export_sections(text, sections):
    """The add/set lines of each section, continuation lines joined."""
    lines, cur = [], ''
    for raw in text.splitlines():
        cur += raw.strip() if cur else raw
        if cur.endswith('\\'):
            cur = cur[:-1].rstrip() + ' '
            continue
        lines.append(cur)
        cur = ''
    out, where = {s: [] for s in sections}, None
    for ln in lines:
        if ln.startswith('/'):
            where = ln if ln in sections else None
        elif where and not ln.startswith('#'):
            out[where].append(ln)
    return out


# ---- a raw client: the protocol by hand, as socialwifi's routeros_api speaks it ----

def enc_len(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return (n | 0x8000).to_bytes(2, 'big')
    if n < 0x200000:
        return (n | 0xC00000).to_bytes(3, 'big')
    if n < 0x10000000:
        return (n | 0xE0000000).to_bytes(4, 'big')
    return b'\xf0' + n.to_bytes(4, 'big')


def enc_sentence(words):
    out = b''
    for w in words:
        b = w.encode() if isinstance(w, str) else w
        out += enc_len(len(b)) + b
    return out + b'\x00'


class Raw:
    def __init__(self, port=API, tls=False, saddr=None, timeout=10):
        self.s = socket.create_connection((HOST, port), timeout=timeout,
                                          source_address=(saddr, 0) if saddr else None)
        if tls:
            self.s = tls_context().wrap_socket(self.s, server_hostname='rosfw')
        self.buf = b''

    def send(self, *words):
        self.s.sendall(enc_sentence(words))

    def sendraw(self, data):
        self.s.sendall(data)

    def try_send(self, data):
        """Sends what the server takes: it may close the connection midway."""
        try:
            self.s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _need(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError('closed')
            self.buf += d

    def word(self):
        self._need(1)
        b = self.buf[0]
        k = 1 if b < 0x80 else 2 if b < 0xC0 else 3 if b < 0xE0 else 4 if b < 0xF0 else 5
        self._need(k)
        if k == 5:
            n = int.from_bytes(self.buf[1:5], 'big')
        else:
            n = int.from_bytes(self.buf[:k], 'big') & ((1 << (8 * k - k)) - 1)
        self._need(k + n)
        w = self.buf[k:k + n].decode('utf-8', 'replace')
        self.buf = self.buf[k + n:]
        return w

    def sentence(self):
        words = []
        while True:
            w = self.word()
            if w == '':
                return words
            words.append(w)

    def until_done(self, tag=None):
        """Sentences up to and including the !done of tag."""
        out = []
        while True:
            s = self.sentence()
            out.append(s)
            if s[0] == '!done' and (tag is None or '.tag=' + tag in s):
                return out

    def closed(self, timeout=5):
        """True when the server closes the connection (after any last words)."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def login(self, user='admin', password=PASSWORD, tag=None):
        words = ['/login', '=name=' + user, '=password=' + password]
        if tag:
            words.append('.tag=' + tag)
        self.send(*words)
        return self.until_done(tag)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def attrs(sentence):
    d = {}
    for w in sentence[1:]:
        if w.startswith('='):
            k, _, v = w[1:].partition('=')
            d[k] = v
    return d


# ---- the tests, in order (the seed first: it compares against a store only it changed) ----

def test_seed_script():
    """The seed's API script (firewall, queue tree and mangle adds, in order)
    through librouteros, then /export equals a lenient import of the seed's
    CLI block into a fresh store, section by section."""
    api = connect()
    flt = api.path('ip', 'firewall', 'filter')
    qt = api.path('queue', 'tree')
    mg = api.path('ip', 'firewall', 'mangle')

    def add(path, **kw):
        # routeros_api turns _ into - in keys; the seed writes packet_marks
        i = path.add(**{k.replace('_', '-'): v for k, v in kw.items()})
        check(re.fullmatch(r'\*[0-9A-F]+', i) is not None, 'add returns an id: %r' % i)

    add(flt, chain='input', connection_state='invalid', action='drop', comment='Drop invalid connections (Input)')
    add(flt, chain='forward', connection_state='invalid', action='drop', comment='Drop invalid connections (Forward)')
    add(flt, chain='input', connection_state='established,related', action='accept', comment='Allow established/related (Input)')
    add(flt, chain='forward', connection_state='established,related', action='accept', comment='Allow established/related (Forward)')
    add(flt, chain='input', src_address='192.168.88.0/24', in_interface='ether2-master-local', action='accept', comment='Allow LAN Input')
    add(flt, chain='input', src_address='192.168.88.0/24', in_interface='wlan1', action='accept', comment='Allow WiFi Input')
    add(flt, chain='input', action='drop', comment='Drop all other Input')
    add(qt, name='WAN-Outbound', parent='ether1-gateway', limit_at='0', max_limit='10M', comment='WAN Outbound Queue - Total Bandwidth')
    add(qt, name='High-Priority', parent='WAN-Outbound', packet_marks='high-priority', priority='1', limit_at='0', max_limit='5M', comment='High Priority Traffic Queue - VoIP/Video')
    add(qt, name='Normal-Priority', parent='WAN-Outbound', packet_marks='normal-priority', priority='3', limit_at='0', max_limit='7M', comment='Normal Priority Traffic Queue - Web/Email')
    add(qt, name='Low-Priority', parent='WAN-Outbound', packet_marks='low-priority', priority='7', limit_at='0', max_limit='3M', comment='Low Priority Traffic Queue - Downloads')
    add(mg, chain='forward', protocol='udp', dst_port='5060,5061', action='mark-packet', new_packet_mark='high-priority', comment='Mark VoIP SIP for High Priority')
    add(mg, chain='forward', protocol='udp', dst_port='10000-20000', action='mark-packet', new_packet_mark='high-priority', comment='Mark VoIP RTP for High Priority')
    add(mg, chain='forward', protocol='tcp', dst_port='80,443', action='mark-packet', new_packet_mark='normal-priority', comment='Mark Web Browsing (HTTP/HTTPS) as Normal')
    add(mg, chain='forward', action='mark-packet', new_packet_mark='low-priority', comment='Mark all other traffic as Low Priority (Default)')
    api.close()

    ref_db = os.path.join(TMP, 'seed-ref.db')
    r = subprocess.run([ROSFW, '--db', ref_db, 'import', '--lenient', SEED],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    check(b'skipped: line 4' in r.stdout, 'the seed import skips its default-forward line')
    ref = subprocess.run([ROSFW, '--db', ref_db, 'export'], stdout=subprocess.PIPE,
                         timeout=60).stdout.decode()
    live = console('/export\n')
    sections = ['/ip firewall filter', '/ip firewall mangle', '/queue tree']
    a, b = export_sections(live, sections), export_sections(ref, sections)
    for s in sections:
        check(len(b[s]) > 0, 'reference export has %s' % s)
        eq(a[s], b[s], 'export section %s after the API script' % s)


def test_login():
    # every failed login from 127.0.0.1 counts toward the throttle (5 a
    # minute): the whole file makes 3; test_throttle uses 127.0.0.2
    api = connect()
    res = list(api('/system/resource/print'))
    check(res[0]['version'].startswith('7.16 (rosfw'), 'version like 7.16 (rosfw ...): %r' % res[0]['version'])
    api.close()
    try:
        connect(password='wrong')
        check(False, 'a wrong password logs in')
    except TrapError as e:
        eq(e.message, 'invalid user name or password (6)', 'bad login message')
    try:
        connect(user='nobody', password='x')
        check(False, 'an unknown user logs in')
    except TrapError as e:
        eq(e.message, 'invalid user name or password (6)', 'unknown user message')


def test_user_active():
    # sessions logged in now: this one (api), a TLS one (api-ssl), the
    # console asking; last-logged-in set by the login; a closed session goes
    api = connect()
    admin = [u for u in api('/user/print') if u.get('name') == 'admin']
    eq(len(admin), 1, 'admin in /user/print')
    check(re.match(r'^[a-z]{3}/\d\d/\d{4} \d\d:\d\d:\d\d$', admin[0].get('last-logged-in', '')),
          'admin last-logged-in after login: %r' % admin[0].get('last-logged-in'))
    sec = connect(port=SSL_PORT, tls=True)
    rows = list(api('/user/active/print'))
    mine = [r for r in rows if r.get('via') == 'api' and r.get('name') == 'admin'
            and r.get('address') == HOST]
    check(len(mine) >= 1, 'an api session in /user/active: %r' % rows)
    check(mine[0].get('when'), 'when of an active session: %r' % mine[0])
    eq(mine[0].get('group'), 'full', 'group of an active session')
    check([r for r in rows if r.get('via') == 'api-ssl'], 'an api-ssl session in /user/active: %r' % rows)
    out = console('/user active print\n')
    check(re.search(r'admin\s+console', out) and re.search(r'admin\s+127\.0\.0\.1\s+api', out),
          'console /user active print shows console and api sessions: %r' % out)
    sec.close()
    for _ in range(100):
        rows = list(api('/user/active/print'))
        if not [r for r in rows if r.get('via') == 'api-ssl']:
            break
        time.sleep(0.05)
    eq([r for r in rows if r.get('via') == 'api-ssl'], [], 'a closed api-ssl session leaves /user/active')
    out = console('/log print where topics~"account"\n')
    check('user admin logged in from 127.0.0.1 via api-ssl' in out and
          'user admin logged out from 127.0.0.1 via api-ssl' in out,
          'an api-ssl session logs in and out: %r' % out[-400:])
    api.close()


def test_add_print_set_remove():
    api = connect()
    flt = api.path('ip', 'firewall', 'filter')
    before = len(list(flt))
    i = flt.add(**{'chain': 'forward', 'action': 'drop', 'protocol': 'tcp', 'dst-port': '6667',
                   'comment': 'api-test irc'})
    check(re.fullmatch(r'\*[0-9A-F]+', i) is not None, 'add returns *ID')
    rows = [r for r in flt if r['.id'] == i]
    eq(len(rows), 1, 'the new rule is printed')
    eq(rows[0]['dst-port'], 6667, 'its dst-port (librouteros makes numbers of numeric text)')
    eq(rows[0]['disabled'], False, 'booleans come back as true/false')
    # get reads a rule's counters as print shows them
    for c in ('packets', 'bytes'):
        got = list(api.rawCmd('/ip/firewall/filter/get', '=.id=' + i, '=value-name=' + c))
        eq([str(r.get('ret')) for r in got], [str(rows[0][c])], 'get ' + c)
    flt.update(**{'.id': i, 'comment': 'api-test irc (set)', 'disabled': 'true'})
    rows = [r for r in flt if r['.id'] == i]
    eq(rows[0]['comment'], 'api-test irc (set)', 'set changes the comment')
    eq(rows[0]['disabled'], True, 'set disabled=true')
    j = flt.add(chain='forward', action='drop', comment='api-test 2')
    k = flt.add(chain='forward', action='drop', comment='api-test 3')
    flt.remove(i, j, k)   # several ids, comma separated
    eq(len(list(flt)), before, 'remove of three ids')
    try:
        flt.remove(i)
        check(False, 'removing a removed rule works')
    except TrapError as e:
        check('no such item' in e.message, 'remove of a gone id: %s' % e.message)
    # getall is print
    eq(len(list(api('/ip/firewall/filter/getall'))), before, 'getall = print')
    api.close()


def test_queries():
    api = connect()
    flt = api.path('ip', 'firewall', 'filter')
    rows = list(flt)
    ids = lambda rs: [r['.id'] for r in rs]

    def q(*words, path='/ip/firewall/filter/print'):
        return ids(api.rawCmd(path, *words))

    eq(q('?chain=input'), ids(r for r in rows if r['chain'] == 'input'), '?chain=input')
    eq(q('?=chain=input'), ids(r for r in rows if r['chain'] == 'input'), '?=chain=input')
    eq(q('?chain=input', '?chain=forward', '?#|'),
       ids(r for r in rows if r['chain'] in ('input', 'forward')), '?#| (or)')
    eq(q('?action=drop', '?#!'), ids(r for r in rows if r['action'] != 'drop'), '?#! (not)')
    eq(q('?chain=input', '?action=drop', '?action=accept', '?#|&'),
       ids(r for r in rows if r['chain'] == 'input' and r['action'] in ('drop', 'accept')),
       'several operators in one word')
    eq(q('?chain=input', '?action=drop'),
       ids(r for r in rows if r['chain'] == 'input' and r['action'] == 'drop'),
       'consecutive conditions AND')
    eq(q('?comment'), ids(r for r in rows if 'comment' in r), '?comment (has)')
    eq(q('?-comment'), ids(r for r in rows if 'comment' not in r), '?-comment (lacks)')
    eq(q('?chain=input', '?chain=forward', '?#0'), ids(r for r in rows if r['chain'] == 'forward'),
       'an index at the end of the word replaces the stack')
    eq(q('?chain=input', '?#0!'), [], 'an index before an operator pushes a copy')
    eq(q('?chain=input', '?#.!|'), ids(rows), "'.' pushes a copy of the top")
    eq(q('?disabled=no'), ids(r for r in rows if r['disabled'] is False), 'booleans compare as booleans')
    queues = list(api('/queue/tree/print'))
    eq(q('?>priority=2', path='/queue/tree/print'),
       ids(r for r in queues if int(r['priority']) > 2), '?> compares numbers as numbers')
    eq(q('?<name=N', path='/queue/tree/print'),
       ids(r for r in queues if r['name'] < 'N'), '?< compares text as text')
    # librouteros' own query builder
    chain, action = Key('chain'), Key('action')
    got = list(flt.select(Key('.id'), chain, action).where(Or(chain == 'input', chain == 'output'), action == 'drop'))
    eq([r['.id'] for r in got], ids(r for r in rows if r['chain'] in ('input', 'output') and r['action'] == 'drop'),
       'librouteros Or/And query')
    eq(set(got[0].keys()) if got else {'.id', 'chain', 'action'}, {'.id', 'chain', 'action'}, '.proplist projects the rows')
    eq(list(api.rawCmd('/ip/firewall/filter/print', '=.proplist=chain', '?chain=input'))[0], {'chain': 'input'},
       '.proplist without .id')
    cnt = list(api.rawCmd('/ip/firewall/filter/print', '=count-only=', '?chain=forward'))
    eq(cnt, [{'ret': len([r for r in rows if r['chain'] == 'forward'])}], 'count-only')
    try:
        list(api.rawCmd('/ip/firewall/filter/print', '?#x'))
        check(False, 'a bad query operation is accepted')
    except TrapError as e:
        check('query' in e.message, 'bad ?# operation traps: %s' % e.message)
    api.close()


def test_errors():
    api = connect()
    try:
        api.path('ip', 'firewall', 'filter').add(chain='input', src_adress='1.2.3.4')
        check(False, 'an unknown property is accepted')
    except TrapError as e:
        eq(e.message, "unknown property 'src_adress' (did you mean 'src-address'?)", 'unknown property')
    for cmd, msg in (('/ip/firewall/filter/frobnicate', 'no such command'),
                     ('/ip/nothing/print', 'no such command prefix')):
        try:
            list(api(cmd))
            check(False, cmd + ' is accepted')
        except TrapError as e:
            eq(e.message, msg, cmd)
    try:
        list(api.rawCmd('/ip/firewall/filter/add', '=chain=input', '=action=acept'))
        check(False, 'a bad value is accepted')
    except TrapError as e:
        check("accept" in e.message, 'bad value names the value: %s' % e.message)
    # the session survives its errors
    eq(len(list(api('/system/identity/print'))), 1, 'the session goes on after traps')
    api.close()


def test_listen_cancel():
    api = connect()
    other = connect()
    flt = other.path('ip', 'firewall', 'filter')
    p = api.protocol
    p.writeSentence('/ip/firewall/filter/listen', '.tag=L1')
    time.sleep(0.2)  # the listen is another connection's: let it start first
    i = flt.add(chain='forward', action='drop', comment='listen-test')
    word, words = p.readSentence()
    eq(word, '!re', 'listen reports an add')
    eq(words[0], '.tag=L1', 'the tag right after the reply word')
    check('=.id=' + i in words and '=comment=listen-test' in words, 'the added rule: %r' % (words,))
    flt.update(**{'.id': i, 'comment': 'listen-test 2'})
    word, words = p.readSentence()
    check(word == '!re' and '=comment=listen-test 2' in words, 'listen reports a set: %r' % (words,))
    flt.remove(i)
    word, words = p.readSentence()
    eq((word, list(words)), ('!re', ['.tag=L1', '=.id=' + i, '=.dead=true']), 'listen reports a removal')
    # a change elsewhere is not reported: the next sentence is the cancel's
    other.path('queue', 'tree').add(**{'name': 'listen-q', 'parent': 'ether1-gateway', 'max-limit': '1M'})
    p.writeSentence('/cancel', '=tag=L1', '.tag=C1')
    eq(p.readSentence(), ('!trap', ('.tag=L1', '=category=2', '=message=interrupted')), 'cancelled command traps')
    eq(p.readSentence(), ('!done', ('.tag=C1',)), '/cancel is done')
    eq(p.readSentence(), ('!done', ('.tag=L1',)), 'the cancelled command is done')
    q = [r['.id'] for r in other.path('queue', 'tree') if r['name'] == 'listen-q']
    other.path('queue', 'tree').remove(*q)
    try:
        list(api.rawCmd('/cancel', '=tag=nothing'))
        check(False, 'cancel of an unknown tag')
    except TrapError:
        check(True, '')
    eq(len(list(api('/system/identity/print'))), 1, 'the session works after cancel')
    api.close()
    other.close()


def read_until(p, pred, what, timeout=6):
    """Sentences of a listen until pred(sentences) holds."""
    got = []
    end = time.time() + timeout
    sock = p.transport.sock
    while not pred(got):
        sock.settimeout(max(0.1, end - time.time()))
        try:
            got.append(p.readSentence())
        except Exception as e:
            raise AssertionError('%s: %s after %r' % (what, e, got))
        if time.time() > end:
            raise AssertionError('%s: timed out after %r' % (what, got))
    sock.settimeout(None)
    return got


def test_listen_runtime():
    api = connect()
    other = connect()
    p = api.protocol
    # /log: one !re per new line, with its own id
    p.writeSentence('/log/listen', '.tag=LG', '?topics=script,info')
    time.sleep(0.2)
    list(other('/log/info', **{'message': 'listen-log-1'}))
    list(other('/log/info', **{'message': 'listen-log-2'}))
    got = read_until(p, lambda g: len(g) >= 2, '/log listen')
    msgs = [attrs(w)['message'] for _, w in got]
    eq(msgs, ['listen-log-1', 'listen-log-2'], 'a !re per new log line')
    check(all(r == '!re' and w[0] == '.tag=LG' for r, w in got), 'tagged !re: %r' % (got,))
    ids = [attrs(w)['.id'] for _, w in got]
    check(len(set(ids)) == 2, 'each line its own id: %r' % (ids,))
    # /interface (a runtime table): a new interface, a change, a removal
    p.writeSentence('/interface/listen', '.tag=IF', '.proplist=.id,name,disabled')
    time.sleep(0.3)
    vlan = other.path('interface', 'vlan')
    vid = vlan.add(**{'name': 'v-listen', 'vlan-id': '77', 'interface': 'ether1-gateway'})
    got = read_until(p, lambda g: any(attrs(w).get('name') == 'v-listen' for _, w in g), 'interface add')
    ifid = [attrs(w)['.id'] for _, w in got if attrs(w).get('name') == 'v-listen'][0]
    vlan.update(**{'.id': vid, 'disabled': 'yes'})
    got = read_until(p, lambda g: any(attrs(w).get('disabled') == 'true' for _, w in g), 'interface set')
    eq(attrs(got[-1][1]).get('name'), 'v-listen', 'the changed interface')
    vlan.remove(vid)
    got = read_until(p, lambda g: any(attrs(w).get('.dead') for _, w in g), 'interface remove')
    eq(list(got[-1][1]), ['.tag=IF', '=.id=' + ifid, '=.dead=true'], 'a removed interface is dead')
    # /cancel stops both: nothing more comes after the cancels' replies
    p.writeSentence('/cancel', '.tag=C')
    got = read_until(p, lambda g: ('!done', ('.tag=C',)) in g and len(g) >= 5, 'cancel')
    eq(sorted(r for r, _ in got), ['!done', '!done', '!done', '!trap', '!trap'], 'cancel replies')
    list(other('/log/info', **{'message': 'listen-log-3'}))
    time.sleep(0.6)
    eq(len(list(api('/system/identity/print'))), 1, 'the next reply is the next command\'s')
    api.close()
    other.close()


def test_login_off_loop():
    """Password hashes are checked on login threads: while eight logins are
    being verified, another session's command is answered at once."""
    t0 = time.time()
    connect().close()
    one = time.time() - t0
    socks = [socket.create_connection((HOST, API)) for _ in range(8)]
    other = connect()
    for s in socks:
        s.sendall(enc_sentence(['/login', '=name=admin', '=password=' + PASSWORD]))
    time.sleep(0.02)
    t0 = time.time()
    eq(len(list(other('/system/identity/print'))), 1, 'a command during the logins')
    rtt = time.time() - t0
    ends = []
    for s in socks:
        s.settimeout(30)
        d = b''
        while b'!done' not in d and b'!trap' not in d:
            chunk = s.recv(4096)
            if not chunk:
                break
            d += chunk
        ends.append(time.time() - t0)
        check(b'!done' in d, 'each of the eight logins succeeds: %r' % d)
        s.close()
    check(rtt < one / 2 and rtt < max(ends),
          'the command waited for no login: %.4f s (one login %.3f s, the last done after %.3f s)'
          % (rtt, one, max(ends)))
    other.close()


def test_read_only_user():
    api = connect()
    api.path('user').add(name='reader', group='read', password='readpw')
    ro = connect(user='reader', password='readpw')
    check(len(list(ro.path('ip', 'firewall', 'filter'))) > 0, 'a read user can print')
    try:
        ro.path('ip', 'firewall', 'filter').add(chain='input', action='drop')
        check(False, 'a read user can add')
    except TrapError as e:
        eq(e.message, 'not enough permissions (9)', 'read user add')
    try:
        ro.path('user').add(name='evil', group='full', password='x')
        check(False, 'a read user can add users')
    except TrapError as e:
        eq(e.message, 'not enough permissions (9)', 'read user adds a user')
    ro.close()
    # the user's own address list
    api.path('user').add(name='faraway', group='full', password='farpw', address='10.0.0.0/8')
    try:
        connect(user='faraway', password='farpw')
        check(False, 'a user logs in from outside its address list')
    except TrapError as e:
        eq(e.message, 'invalid user name or password (6)', 'login outside the user address list')
    for u in api.path('user'):
        if u['name'] in ('reader', 'faraway'):
            api.path('user').remove(u['.id'])
    api.close()


def test_tls():
    api = connect(port=SSL_PORT, tls=True)
    certs = list(api('/certificate/print'))
    eq(len(certs), 1, 'one certificate')
    check('private-key-pem' not in certs[0] and 'certificate-pem' not in certs[0], 'PEMs never printed')
    try:
        list(api.rawCmd('/certificate/get', '=.id=' + certs[0]['.id'], '=value-name=private-key-pem'))
        check(False, 'the private key is readable over the API')
    except TrapError as e:
        eq(e.message, 'not enough permissions (9)', 'get of the private key')
    api.close()
    s = socket.create_connection((HOST, SSL_PORT), timeout=10)
    t = tls_context().wrap_socket(s, server_hostname='rosfw')
    der = t.getpeercert(binary_form=True)
    t.close()
    eq(hashlib.sha256(der).hexdigest(), certs[0]['fingerprint'], 'the served certificate is the stored one')


def test_socialwifi_wire():
    """What routeros_api sends: tags from 1, a bare /login unless
    plaintext_login, =name with no value for empty values."""
    r = Raw()
    r.send('/login', '.tag=1')
    out = r.until_done('1')
    eq(out[0][0], '!trap', 'a bare /login gets a !trap (challenge login is off)')
    eq(out[0][1], '.tag=1', 'tag echoed on the trap')
    eq(out[-1], ['!done', '.tag=1'], 'then !done')
    r.send('/ip/firewall/filter/print', '.tag=2')
    out = r.until_done('2')
    eq(out, [['!trap', '.tag=2', '=message=not logged in'], ['!done', '.tag=2']],
       'a command before login gets !trap, never silence')
    r.close()

    r = Raw(port=SSL_PORT, tls=True)
    eq(r.login(tag='1'), [['!done', '.tag=1']], 'plaintext login over TLS, tag 1')
    r.send('/ip/firewall/filter/add', '=chain=forward', '=action=accept', '=comment', '.tag=2')
    out = r.until_done('2')
    eq(out[-1][:2], ['!done', '.tag=2'], 'add with =comment (no value)')
    rid = attrs(out[-1])['ret']
    r.send('/ip/firewall/filter/print', '?.id=' + rid, '.tag=3')
    out = r.until_done('3')
    eq(len(out), 2, 'one row for ?.id=')
    eq(out[0][:2], ['!re', '.tag=3'], 'tag right after !re')
    check('=comment=' in out[0], 'empty values come back as =name=')
    r.send('/ip/firewall/filter/remove', '=.id=' + rid, '.tag=4')
    eq(r.until_done('4'), [['!done', '.tag=4']], 'remove')
    r.send('#', '.tag=5')
    eq(r.sentence(), ['!done', '.tag=5'], 'keepalive # is answered')
    r.send('/quit', '.tag=6')
    eq(r.sentence(), ['!fatal', 'session terminated on request'], '/quit')
    check(r.closed(), 'closed after /quit')


def test_length_forms():
    # "/quit" with each of the five length forms (the longer ones non-minimal)
    for prefix in (b'\x05', b'\x80\x05', b'\xc0\x00\x05', b'\xe0\x00\x00\x05', b'\xf0\x00\x00\x00\x05'):
        r = Raw()
        r.sendraw(prefix + b'/quit' + b'\x00')
        eq(r.sentence(), ['!fatal', 'session terminated on request'], 'length form %s' % prefix.hex())
        r.close()
    # a word of 200 bytes (two-byte form) and 20000 bytes (three-byte) after login
    r = Raw()
    r.login()
    r.send('/system/identity/set', '=name=' + 'x' * 20000, '.tag=big')
    out = r.until_done('big')
    eq(out[0][0], '!trap', 'a long word after login reaches the command core')
    check('name' in out[0][-1], 'and its error names the property: %r' % out[0][-1][:80])
    r.close()
    # a client that sends everything and shuts its side gets every answer
    r = Raw()
    r.sendraw(enc_sentence(['/login', '=name=admin', '=password=' + PASSWORD, '.tag=a']) +
              enc_sentence(['/ip/firewall/filter/print', '=count-only=', '.tag=b']))
    r.s.shutdown(socket.SHUT_WR)
    eq(r.sentence(), ['!done', '.tag=a'], 'half-closed: login answered')
    eq(r.sentence()[:2], ['!done', '.tag=b'], 'half-closed: print answered')
    check(r.closed(), 'then closed')
    r.close()


def hostile_cases():
    r = Raw()
    r.try_send(b'\xf8abc')
    eq(r.sentence(), ['!fatal', 'protocol error: reserved length prefix'], 'first byte 0xF8')
    check(r.closed(), 'closed after a reserved prefix')
    r = Raw()
    r.try_send(enc_len(5000) + b'A' * 100)
    eq(r.sentence(), ['!fatal', 'protocol error: word too long'], 'oversize word before login')
    check(r.closed(), 'closed after an oversize word')
    r = Raw()
    r.try_send(b''.join(enc_len(100) + b'B' * 100 for _ in range(50)))
    s = r.sentence()
    check(s[0] == '!fatal' and 'protocol error' in s[1], 'oversize sentence before login: %r' % s)
    check(r.closed(), 'closed after an oversize sentence')
    r = Raw()
    r.sendraw(b'\x06/login\x06=name=')   # unterminated, then gone
    r.close()
    r = Raw()
    r.try_send(b''.join(enc_sentence(['/ip/address/print', '.tag=%d' % i]) for i in range(40)))
    got = []
    try:
        while True:
            got.append(r.sentence())
    except (EOFError, ConnectionResetError):
        pass
    check(['!fatal', 'too many sentences before login'] in got, 'too many sentences before login')
    r.close()
    rnd = random.Random(7)
    for n in range(5):
        r = Raw()
        r.try_send(bytes(rnd.randrange(256) for _ in range(3000)))
        check(r.closed(), 'random garbage %d: the connection ends' % n)
        r.close()
    r = Raw()
    r.sendraw(enc_sentence(['hello', 'world']))
    eq(r.sentence(), ['!trap', '=category=5', '=message=unknown word'], 'an unknown word before login')
    eq(r.sentence(), ['!done'], 'then !done')
    r.sendraw(enc_sentence(['hello', '=world=1']))
    eq(r.sentence(), ['!trap', '=message=not logged in'], 'a command before login')
    eq(r.sentence(), ['!done'], 'then !done')
    r.sendraw(enc_sentence(['/login', '=name=admin\x00x', '=password=' + PASSWORD]))
    eq(r.sentence(), ['!trap', '=category=5', '=message=word contains a NUL byte'], 'NUL inside a word')
    r.close()


def test_hostile_input():
    before = console('/export\n')
    hostile_cases()
    after = console('/export\n')
    strip = lambda t: [ln for ln in t.splitlines() if not ln.startswith('# ')]
    eq(strip(after), strip(before), 'hostile input changed nothing')
    api = connect()
    eq(len(list(api('/system/identity/print'))), 1, 'the daemon serves after hostile input')
    api.close()


def test_many_sessions():
    """120 sessions at once, one client that never reads its replies and one
    that dribbles garbage: everybody else is served."""
    sessions = []
    for i in range(120):
        r = Raw()
        r.send('/login', '=name=admin', '=password=' + PASSWORD, '.tag=%d' % i)
        sessions.append(r)
    for i, r in enumerate(sessions):
        eq(r.sentence(), ['!done', '.tag=%d' % i], 'login of session %d' % i)
    slow = Raw()
    slow.login()
    slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    blob = enc_sentence(['/ip/firewall/filter/print'])
    stop = threading.Event()

    def flood():
        try:
            while not stop.is_set():
                slow.s.sendall(blob * 50)
        except OSError:
            pass
    t = threading.Thread(target=flood, daemon=True)
    t.start()
    dribble = Raw()
    dribble.sendraw(b'\x80')  # half a length prefix, then nothing
    time.sleep(1.0)
    start = time.time()
    for i, r in enumerate(sessions):
        r.send('/ip/firewall/filter/print', '=count-only=', '.tag=c%d' % i)
    for i, r in enumerate(sessions):
        out = r.until_done('c%d' % i)
        check(out[-1][0] == '!done', 'session %d served while another is stuck' % i)
    check(time.time() - start < 10, 'served quickly: %.1fs' % (time.time() - start))
    stop.set()
    slow.close()
    dribble.close()
    for r in sessions:
        r.close()
    t.join(5)


def test_throttle():
    for _ in range(5):
        try:
            connect(password='guess', saddr='127.0.0.2')
        except TrapError:
            pass
    try:
        connect(saddr='127.0.0.2')
        check(False, 'the right password is accepted while throttled')
    except TrapError as e:
        eq(e.message, 'invalid user name or password (6)', 'throttled login')
    api = connect()  # another source is not affected
    logs = [r.get('message', '') for r in api('/log/print')]
    check(any('login failure for user admin from 127.0.0.2 via api' in m for m in logs),
          'failed logins are logged')
    api.close()


def wait_port(port, up, tls=False):
    for _ in range(50):
        try:
            s = socket.create_connection((HOST, port), timeout=1)
            if tls:
                s = tls_context().wrap_socket(s, server_hostname='rosfw')
            s.close()
            if up:
                return True
        except (OSError, ssl.SSLError):
            if not up:
                return True
        time.sleep(0.1)
    return False


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def test_services_live():
    api = connect()
    svc = api.path('ip', 'service')
    ssl_row = [r for r in svc if r['name'] == 'api-ssl'][0]
    sid, addr = ssl_row['.id'], ssl_row.get('address', '')
    held = connect(port=SSL_PORT, tls=True)
    new = free_port()
    svc.update(**{'.id': sid, 'port': str(new)})
    check(wait_port(new, True, tls=True), 'api-ssl follows a port change')
    check(wait_port(SSL_PORT, False), 'the old port is closed')
    eq(len(list(held('/system/identity/print'))), 1, 'a session survives a port change')
    svc.update(**{'.id': sid, 'port': str(SSL_PORT)})
    check(wait_port(SSL_PORT, True, tls=True), 'api-ssl back on its port')
    svc.update(**{'.id': sid, 'address': '10.0.0.0/8'})
    time.sleep(0.3)
    try:
        connect(port=SSL_PORT, tls=True)
        check(False, 'a source outside the address list logs in')
    except (OSError, ssl.SSLError, librouteros.exceptions.LibRouterosError):
        check(True, '')
    try:
        list(held('/system/identity/print'))
        check(False, 'a session from a now-refused address goes on')
    except (OSError, ssl.SSLError, librouteros.exceptions.LibRouterosError):
        check(True, '')
    svc.update(**{'.id': sid, 'address': addr})
    svc.update(**{'.id': sid, 'disabled': 'yes'})
    check(wait_port(SSL_PORT, False), 'a disabled service stops listening')
    svc.update(**{'.id': sid, 'disabled': 'no'})
    check(wait_port(SSL_PORT, True, tls=True), 'enabled again')
    api.close()


TESTS = [test_seed_script, test_login, test_user_active, test_add_print_set_remove, test_queries, test_errors,
         test_listen_cancel, test_listen_runtime, test_login_off_loop, test_read_only_user, test_tls, test_socialwifi_wire,
         test_length_forms, test_hostile_input, test_many_sessions, test_services_live,
         test_throttle]

if __name__ == '__main__':
    for t in TESTS:
        try:
            t()
        except Exception as e:
            print('FAIL %s: %s: %s' % (t.__name__, type(e).__name__, e))
            sys.exit(1)
        print('%s: ok' % t.__name__)
    print('passed %d' % passed)
