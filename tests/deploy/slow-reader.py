#!/usr/bin/python3
# slow-reader.py INSTRUMENT NCALLS: the client that never reads.
#  - a raw D-Bus connection (own wire code, so no library reads behind our
#    back) that sends NCALLS GetManagedObjects calls to strigild and never
#    reads a single reply;
#  - a sample stream (Instrument.OpenStream) that is not read either.
# It sleeps until killed (SIGTERM), then reads the stream once and prints
# how many samples the daemon dropped for it instead of blocking or
# buffering without bound.
import os
import signal
import socket
import struct
import sys
import time

import dbus

NAME = "org.strigil.Strigil1"


def pad(buf, n):
    return buf + b"\0" * ((-len(buf)) % n)


def string(code, s, sig):
    """One header field (code, variant of type sig holding string s)."""
    b = s.encode()
    v = bytes([len(sig)]) + sig.encode() + b"\0"
    body = struct.pack("<I", len(b)) + b + b"\0" if sig in "os" else bytes([len(b)]) + b + b"\0"
    return bytes([code]) + v, body


def method_call(serial, dest, path, iface, member):
    fields = b""
    for code, sig, val in ((1, "o", path), (2, "s", iface), (3, "s", member), (6, "s", dest)):
        fields = pad(fields, 8)
        head, body = string(code, val, sig)
        fields += head
        fields = pad(fields, 4)
        fields += body
    hdr = struct.pack("<cBBBII", b"l", 1, 0, 1, 0, serial) + struct.pack("<I", len(fields)) + fields
    return pad(hdr, 8)


def raw_connect(uid):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    addr = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/dbus/system_bus_socket")
    s.connect(addr.split("path=", 1)[1].split(",")[0])
    s.sendall(b"\0AUTH EXTERNAL " + str(uid).encode().hex().encode() + b"\r\n")
    if not s.recv(4096).startswith(b"OK"):
        sys.exit("raw client: auth refused")
    s.sendall(b"BEGIN\r\n")
    s.sendall(method_call(1, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello"))
    return s


def first_ok(packets, samples):
    """The daemon kept the stream open and its queue for us bounded."""
    if packets == 0:
        print("stream: nothing was queued (closed or never streamed)", flush=True)
        return False
    if samples > 20000:
        print("stream: %d samples queued for a reader that never reads: unbounded?" % samples, flush=True)
        return False
    return True


def main():
    instr, ncalls = sys.argv[1], int(sys.argv[2])
    bus = dbus.SystemBus()
    fd = bus.call_blocking(NAME, instr, "org.strigil.Strigil1.Instrument", "OpenStream", "", [])
    stream = socket.socket(fileno=fd.take())

    raw = raw_connect(os.getuid())
    raw.setblocking(False)
    sent = 0
    for i in range(ncalls):
        msg = method_call(i + 2, NAME, "/org/strigil/Strigil1",
                          "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        try:
            raw.send(msg)
            sent += 1
        except BlockingIOError:
            break      # the bus stopped reading from us: that is its defence
    print("raw client: %d calls sent, 0 replies read" % sent, flush=True)

    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    deadline = time.monotonic() + 120      # stops by itself if never told
    while not stop and time.monotonic() < deadline:
        time.sleep(0.2)
    # Now drain what the daemon queued for us while we did not read (the
    # daemon keeps sending in real time: stop at the first empty queue).
    stream.setblocking(False)
    dropped = packets = samples = 0
    first = None
    try:
        while packets < 1000000:
            p = stream.recv(65536)
            if not p:
                print("stream: closed by the daemon", flush=True)
                break
            magic, ver, count, index, drop, lost = struct.unpack("<IHHQII", p[:24])
            if magic != 0x31534753:
                print("stream: bad magic %#x" % magic, flush=True)
                break
            if first is None:
                first = index
            dropped += drop
            packets += 1
            samples += count
    except BlockingIOError:
        pass
    # The first packet sent after the drain carries the count of samples
    # dropped while the queue was full.
    stream.settimeout(5.0)
    try:
        p = stream.recv(65536)
        if len(p) >= 24:
            dropped += struct.unpack("<IHHQII", p[:24])[4]
    except socket.timeout:
        print("stream: nothing after the drain", flush=True)
        sys.exit(1)
    if not first_ok(packets, samples):
        sys.exit(1)
    print("FIGURE stream_queued_packets=%d stream_queued_samples=%d stream_samples_dropped=%d"
          % (packets, samples, dropped), flush=True)


if __name__ == "__main__":
    main()
