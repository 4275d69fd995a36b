#!/usr/bin/python3
"""Small measuring tools for the live lab (tests/lab/live.sh, bench/live.sh),
run inside a lab namespace with `ip netns exec`. One subcommand each:

  rate IFACE DELAY SECONDS      bits/s received on IFACE (its kernel counter,
                                Ethernet header included, as a shaper counts),
                                sampled from DELAY to DELAY+SECONDS from now
  pps IFACE DELAY SECONDS       packets/s received on IFACE, sampled the same way
  voip IRTT.json                p50, p99, max round-trip time (ms) and loss of
                                an irtt run, and the medians of the one-way delays
                                (up: client to server; down: back; one clock here),
                                as "p50=.. p99=.. max=.. loss=.. n=.. up50=.. down50=.."
  iperf IPERF.json              the receiver's rate of an iperf3 run, bits/s
  flood HOST PORT0 N            N UDP datagrams to HOST ports PORT0.., each from
                                a port of its own: N new connections
  echo PORT                     a UDP echo server (any size) on PORT, for 60 s
  big HOST PORT SIZE...         one UDP datagram of each SIZE, DF clear, to an
                                echo; prints "SIZE:ok" or "SIZE:lost" for each
  pmtu HOST PORT SIZE           one UDP datagram of SIZE with DF set; prints the
                                path MTU the kernel knows half a second later
  serve6 PORT                   a TCP and a UDP echo on [::]:PORT (IPv4 too), for 60 s
  talk SRC HOST PORT tcp|udp    one exchange with an echo from address SRC ("-": any);
                                prints "ok", "timeout", "refused" or the error
  vlan IFACE VID SRC GW DST PORT
                                a host behind an 802.1Q tag (the kernel here has no
                                vlan devices): on IFACE, frames tagged VID, address
                                SRC (IPv4 or IPv6), resolves GW (ARP or neighbour
                                discovery), answers for SRC, sends UDP datagrams to
                                the echo DST:PORT through GW; prints "ok" when one
                                comes back tagged, "no-gw" or "timeout"
  ra IFACE                      one router advertisement (router lifetime 0: not a
                                default router) to all nodes on IFACE, from its
                                link-local address, with a source link-layer option
  assured HOST PORT FLOOD_ARGS  a TCP connection to an echo service that is
                                used (assured), then `flood FLOOD_ARGS` from
                                the same host, then the same connection again;
                                prints "before=ok after=ok|FAILED"
"""
import ipaddress
import json
import socket
import struct
import socketserver
import sys
import threading
import time


def sample(iface, counter, delay, seconds):
    path = "/sys/class/net/%s/statistics/%s" % (iface, counter)
    time.sleep(float(delay))
    with open(path) as f:
        b0, t0 = int(f.read()), time.monotonic()
    time.sleep(float(seconds))
    with open(path) as f:
        b1, t1 = int(f.read()), time.monotonic()
    return (b1 - b0) / (t1 - t0)


def rate(iface, delay, seconds):
    print("%.0f" % (8 * sample(iface, "rx_bytes", delay, seconds)))


def pps(iface, delay, seconds):
    print("%.0f" % sample(iface, "rx_packets", delay, seconds))


def percentile(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def voip(path):
    with open(path) as f:
        j = json.load(f)
    rtts, ups, downs, lost = [], [], [], 0
    for rt in j["round_trips"]:
        if rt.get("lost", "false") != "false":
            lost += 1
            continue
        d = rt["delay"]
        rtts.append(d["rtt"] / 1e6)
        if "send" in d and "receive" in d:
            ups.append(d["send"] / 1e6)
            downs.append(d["receive"] / 1e6)
    for v in (rtts, ups, downs):
        v.sort()
    n = len(rtts) + lost
    print("p50=%.2f p99=%.2f max=%.2f loss=%.1f%% n=%d up50=%.2f down50=%.2f" %
          (percentile(rtts, 0.5), percentile(rtts, 0.99), rtts[-1] if rtts else float("nan"),
           100.0 * lost / n if n else 100.0, n, percentile(ups, 0.5), percentile(downs, 0.5)))


def iperf(path):
    with open(path) as f:
        j = json.load(f)
    end = j["end"]
    s = end.get("sum_received") or end.get("sum")
    print("%.0f" % s["bits_per_second"])


def flood(host, port0, n):
    socks = []
    port0, n = int(port0), int(n)
    for i in range(n):
        if i % 200 == 0:
            for s in socks:
                s.close()
            socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(200)]
        try:
            socks[i % 200].sendto(b"flood", (host, port0 + i % 20000))
        except OSError:
            pass
    for s in socks:
        s.close()


def exchange(s, msg):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = s.recv(65536)
        if not b:
            break
        got += b
    return got == msg


def assured(host, port, *flood_args):
    s = socket.create_connection((host, int(port)), timeout=3)
    before = all(exchange(s, b"x" * 3000) for _ in range(3))
    flood(*flood_args)
    time.sleep(0.3)
    try:
        after = exchange(s, b"y" * 3000)
    except OSError:
        after = False
    s.close()
    print("before=%s after=%s" % ("ok" if before else "FAILED", "ok" if after else "FAILED"))
    return 0 if before and after else 1


def echo(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    s.settimeout(60)
    try:
        while True:
            b, a = s.recvfrom(65535)
            s.sendto(b, a)
    except socket.timeout:
        pass


def big(host, port, *sizes):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: DF clear, the kernel fragments
    s.setsockopt(socket.IPPROTO_IP, 10, 0)
    s.settimeout(1)
    s.connect((host, int(port)))
    out, bad = [], 0
    for n in sizes:
        msg = bytes((i * 7) & 255 for i in range(int(n)))
        got = None
        for _ in range(3):
            s.send(msg)
            try:
                got = s.recv(65535)
                break
            except socket.timeout:
                continue
        ok = got == msg
        bad += not ok
        out.append("%s:%s" % (n, "ok" if ok else "lost"))
    print(" ".join(out))
    return 1 if bad else 0


def pmtu(host, port, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO
    s.connect((host, int(port)))
    try:
        s.send(b"d" * int(size))
    except OSError as e:
        print("send: %s" % e)
        return 1
    time.sleep(0.5)
    print(s.getsockopt(socket.IPPROTO_IP, 14))  # IP_MTU


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(3)
        try:
            while True:
                b = self.request.recv(65536)
                if not b:
                    break
                self.request.sendall(b)
        except OSError:
            pass


class _Server6(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def serve6(port):
    srv = _Server6(("::", int(port)), _Echo)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    u.bind(("::", int(port)))
    end = time.monotonic() + 60
    while time.monotonic() < end:
        u.settimeout(max(0.1, end - time.monotonic()))
        try:
            b, a = u.recvfrom(65535)
            u.sendto(b, a)
        except socket.timeout:
            pass
    srv.shutdown()


def talk(src, host, port, proto):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, kind)
    s.settimeout(2)
    msg = b"rosfw lab l2 " * 200 if proto == "tcp" else b"rosfw lab l2"
    try:
        if src != "-":
            s.bind((src, 0))
        s.connect((host, int(port)))
        if proto == "tcp":
            ok = exchange(s, msg)
        else:
            got = None
            for _ in range(3):
                s.send(msg)
                try:
                    got = s.recv(65535)
                    break
                except socket.timeout:
                    continue
            ok = got == msg
        print("ok" if ok else "timeout")
        return 0 if ok else 1
    except socket.timeout:
        print("timeout")
    except ConnectionRefusedError:
        print("refused")
    except OSError as e:
        print(e)
    return 1


def _sum16(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def _ip6(src, dst, nh, payload, hop=64):
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, hop) + src + dst + payload


def _l4sum6(src, dst, nh, msg):
    return _sum16(src + dst + struct.pack("!IxxxB", len(msg), nh) + msg)


def _ndp(src, dst, typ, flags, target, opt_type, mac):
    m = struct.pack("!BBHI", typ, 0, 0, flags << 24) + target + bytes([opt_type, 1]) + mac
    c = _l4sum6(src, dst, 58, m)
    return _ip6(src, dst, 58, m[:2] + struct.pack("!H", c) + m[4:], 255)


def ra(iface):
    idx = socket.if_nametoindex(iface)
    with open("/sys/class/net/%s/address" % iface) as f:
        mac = bytes.fromhex(f.read().strip().replace(":", ""))
    # hop limit 64, no flags, router lifetime 0, reachable and retrans unspecified
    msg = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 0, 0, 0) + bytes([1, 1]) + mac
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.sendto(msg, ("ff02::1", 0, 0, idx))  # the kernel sums ICMPv6
    return 0


def vlan(iface, vid, src, gw, dst, port):
    """A host behind tag VID on IFACE, in user space."""
    vid, port = int(vid), int(port)
    v6 = ":" in src
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((iface, 0))
    s.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA: the tag the kernel took off
    mac = open("/sys/class/net/%s/address" % iface).read().strip()
    me = bytes.fromhex(mac.replace(":", ""))
    A = lambda a: ipaddress.ip_address(a).packed
    src_a, gw_a, dst_a = A(src), A(gw), A(dst)
    tag = struct.pack("!HH", 0x8100, vid)

    def send(eth_dst, etype, payload):
        s.send(eth_dst + me + tag + struct.pack("!H", etype) + payload)

    def ask_gw():
        if v6:
            group = bytes.fromhex("ff0200000000000000000001ff") + gw_a[13:]
            send(b"\x33\x33" + group[12:], 0x86dd, _ndp(src_a, group, 135, 0, gw_a, 1, me))
        else:
            arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + me + src_a + b"\0" * 6 + gw_a
            send(b"\xff" * 6, 0x0806, arp)

    msg = b"rosfw lab vlan %d" % vid
    gw_mac = None
    end = time.monotonic() + 4
    next_send = 0
    s.settimeout(0.1)
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_send:
            next_send = now + 0.5
            if gw_mac is None:
                ask_gw()
            elif v6:
                u = struct.pack("!HHHH", 40000, port, 8 + len(msg), 0) + msg
                c = _l4sum6(src_a, dst_a, 17, u) or 0xffff
                send(gw_mac, 0x86dd, _ip6(src_a, dst_a, 17, u[:6] + struct.pack("!H", c) + u[8:]))
            else:
                u = struct.pack("!HHHH", 40000, port, 8 + len(msg), 0) + msg
                h = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0) + src_a + dst_a
                h = h[:10] + struct.pack("!H", _sum16(h)) + h[12:]
                send(gw_mac, 0x0800, h + u)
        try:
            data, anc, _, addr = s.recvmsg(65535, 64)
        except socket.timeout:
            continue
        if addr[2] == 4:  # PACKET_OUTGOING: our own
            continue
        fvid = None
        for lvl, typ, d in anc:
            if lvl == 263 and typ == 8 and len(d) >= 20:
                st, _, _, _, _, tci, _ = struct.unpack("IIIHHHH", d[:20])
                if st & 0x10:  # TP_STATUS_VLAN_VALID
                    fvid = tci & 0xfff
        if fvid is None and data[12:14] == b"\x81\x00":
            fvid = struct.unpack("!H", data[14:16])[0] & 0xfff
            data = data[:12] + data[16:]
        if fvid != vid:
            continue
        etype, p = struct.unpack("!H", data[12:14])[0], data[14:]
        if etype == 0x0806 and len(p) >= 28:
            op, sha, spa, tpa = struct.unpack("!H", p[6:8])[0], p[8:14], p[14:18], p[24:28]
            if op == 2 and spa == gw_a and not v6:
                gw_mac = sha
                next_send = 0
            elif op == 1 and tpa == src_a:
                send(sha, 0x0806, struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + me + src_a + sha + spa)
        elif etype == 0x86dd and len(p) >= 64 and p[6] == 58:
            typ, target = p[40], p[48:64]
            if typ == 136 and target == gw_a and len(p) >= 72 and p[64] == 2:
                gw_mac = p[66:72]
                next_send = 0
            elif typ == 135 and target == src_a:
                na = _ndp(src_a, p[8:24], 136, 0x60, src_a, 2, me)
                send(data[6:12], 0x86dd, na)
        elif etype == 0x86dd and len(p) >= 48 and p[6] == 17 and p[8:24] == dst_a:
            if p[48:] [:len(msg)] == msg:
                print("ok")
                return 0
        elif etype == 0x0800 and len(p) >= 28 and p[9] == 17 and p[12:16] == dst_a:
            ihl = (p[0] & 15) * 4
            if p[ihl + 8:ihl + 8 + len(msg)] == msg:
                print("ok")
                return 0
    print("no-gw" if gw_mac is None else "timeout")
    return 1


def main(argv):
    cmds = {"vlan": vlan, "ra": ra, "serve6": serve6, "talk": talk, "rate": rate, "pps": pps, "echo": echo, "big": big, "pmtu": pmtu, "voip": voip, "iperf": iperf, "flood": flood, "assured": assured}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.stderr.write(__doc__)
        return 2
    r = cmds[argv[1]](*argv[2:])
    return r or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
