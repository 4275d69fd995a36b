#!/usr/bin/python3
"""Small measuring tools for the live lab (tests/lab/live.sh, bench/live.sh),
run inside a lab namespace with `ip netns exec`. One subcommand each:

  rate IFACE DELAY SECONDS      bits/s received on IFACE (its kernel counter,
                                Ethernet header included, as a shaper counts),
                                sampled from DELAY to DELAY+SECONDS from now
  pps IFACE DELAY SECONDS       packets/s received on IFACE, sampled the same way
  voip IRTT.json                p50, p99, max round-trip time (ms) and loss of
                                an irtt run, as "p50=.. p99=.. max=.. loss=.."
  iperf IPERF.json              the receiver's rate of an iperf3 run, bits/s
  flood HOST PORT0 N            N UDP datagrams to HOST ports PORT0.., each from
                                a port of its own: N new connections
  echo PORT                     a UDP echo server (any size) on PORT, for 60 s
  big HOST PORT SIZE...         one UDP datagram of each SIZE, DF clear, to an
                                echo; prints "SIZE:ok" or "SIZE:lost" for each
  pmtu HOST PORT SIZE           one UDP datagram of SIZE with DF set; prints the
                                path MTU the kernel knows half a second later
  assured HOST PORT FLOOD_ARGS  a TCP connection to an echo service that is
                                used (assured), then `flood FLOOD_ARGS` from
                                the same host, then the same connection again;
                                prints "before=ok after=ok|FAILED"
"""
import json
import socket
import sys
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
    rtts, lost = [], 0
    for rt in j["round_trips"]:
        if rt.get("lost", "false") != "false":
            lost += 1
            continue
        rtts.append(rt["delay"]["rtt"] / 1e6)
    rtts.sort()
    n = len(rtts) + lost
    print("p50=%.2f p99=%.2f max=%.2f loss=%.1f%% n=%d" %
          (percentile(rtts, 0.5), percentile(rtts, 0.99), rtts[-1] if rtts else float("nan"),
           100.0 * lost / n if n else 100.0, n))


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


def main(argv):
    cmds = {"rate": rate, "pps": pps, "echo": echo, "big": big, "pmtu": pmtu, "voip": voip, "iperf": iperf, "flood": flood, "assured": assured}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.stderr.write(__doc__)
        return 2
    r = cmds[argv[1]](*argv[2:])
    return r or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
