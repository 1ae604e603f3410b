#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bursts end to end: an instrument with shear channels (the IIO backend on a
fake sysfs tree, as in test_iio.py, with normal force and shear x/y) is swept
back and forth three times without lifting. strigild must report three
strokes of one burst (StrokeRule "reversal"), the first two ended by a
reversal, each with its own peak; raise LimitExceeded in the first AND the
third pass (the second stays under the cap), re-arming the tool's alert at
each stroke boundary (Alert goes exceeded -> off -> exceeded); a strum dip
without reversal inside the second pass splits nothing; GetBursts gives one
burst of three passes. Before bursts this was one stroke and one alarm."""
import math
import os
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

SERIAL = "IIOSHEAR"
INST = dbus.ObjectPath(ROOT + "/instrument/" + SERIAL)
OFFSET, SCALE = 1000, 1e-4          # raw counts at 0 N, N per count (all 3)
RATE = 1000
CAP = 5.0


def blob(technician, cal_date, due_date):
    body = struct.pack("<HHB3x", 1, 76, 7)
    body += struct.pack("<iI", OFFSET, int(round(SCALE * 1e12))) * 3
    body += struct.pack("<iI", 0, 0)
    body += struct.pack("<QQ16s", cal_date, due_date, technician.encode())
    return body + struct.pack("<I", zlib.crc32(body) & 0xffffffff)


def make_tree(root):
    sysd = os.path.join(root, "sys", "bus", "iio", "devices", "iio:device0")
    devd = os.path.join(root, "dev")
    os.makedirs(os.path.join(sysd, "scan_elements"))
    os.makedirs(os.path.join(sysd, "buffer"))
    os.makedirs(devd)
    now = int(time.time())
    attrs = {
        "name": "strigil", "serial": SERIAL, "model": "S3", "firmware": "1.2.3",
        "model_id": "3", "channel_mask": "7", "protocol_version": str(0x100),
        "sampling_frequency": str(RATE), "sampling_frequency_available": "500 1000",
        "full_scale": "8388607 8388607 8388607 0",
        "alert": "off", "status_flags": "0",
        "frames": "0", "samples": "0", "lost_samples": "0", "bad_frames": "0",
        "urb_errors": "0", "resyncs": "0",
        "scan_elements/in_timestamp_en": "0", "scan_elements/in_timestamp_index": "3",
        "scan_elements/in_timestamp_type": "le:s64/64>>0",
        "buffer/enable": "0", "buffer/length": "0000000000", "buffer/watermark": "0000000000",
    }
    for ch in range(3):
        attrs["in_voltage%d_scale" % ch] = "0.100000000"
        attrs["in_voltage%d_offset" % ch] = str(-OFFSET)
        attrs["scan_elements/in_voltage%d_en" % ch] = "0"
        attrs["scan_elements/in_voltage%d_index" % ch] = str(ch)
        attrs["scan_elements/in_voltage%d_type" % ch] = "le:s32/32>>0"
    for k, v in attrs.items():
        with open(os.path.join(sysd, k), "w") as f:
            f.write(v + "\n")
    with open(os.path.join(sysd, "calibration"), "wb") as f:
        f.write(blob("tech-iio", now - 86400, now + 300 * 86400))
    os.mkfifo(os.path.join(devd, "iio:device0"))
    return os.path.join(root, "sys"), devd, sysd


def attr(sysd, name):
    with open(os.path.join(sysd, name), "rb") as f:
        return f.read()


def raw(newtons):
    return int(round(newtons / SCALE + OFFSET))


class Writer:
    """Scans: three s32 (normal, shear x, shear y), 4 bytes of padding, the
    s64 timestamp at 16: 24 bytes."""
    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY)
        self.t_ns = 1_000_000_000

    def scan(self, f, sx, sy):
        self.t_ns += 1_000_000
        return struct.pack("<iii4xq", raw(f), raw(sx), raw(sy), self.t_ns)

    def play(self, fn, seconds, t0=0.0):
        n = int(seconds * RATE)
        data = b"".join(self.scan(*fn(t0 + i / RATE)) for i in range(n))
        # whole scans per write, as an IIO buffer hands them out
        for k in range(0, len(data), 24 * 170):
            os.write(self.fd, data[k:k + 24 * 170])
            pump(0.001)

    def close(self):
        os.close(self.fd)


# Three passes of 0.6 s back and forth (peaks 8, 4, 8 N; valleys 1.5 N at the
# turnarounds, where the friction flips within ~10 ms), a strum dip to 5 %
# in the middle of the second pass, then the tool is lifted.
PASS_S, PEAKS, VALLEY, MU, TURN = 0.6, (8.0, 4.0, 8.0), 1.5, 0.25, 0.008


def burst(t):
    if t >= 3 * PASS_S:
        return 0.0, 0.0, 0.0
    k = int(t / PASS_S)
    u = t - k * PASS_S
    lo_l = 0.0 if k == 0 else VALLEY
    lo_r = 0.0 if k == 2 else VALLEY
    if u < 0.3 * PASS_S:
        f = lo_l + (PEAKS[k] - lo_l) * 0.5 * (1 - math.cos(math.pi * u / (0.3 * PASS_S)))
    elif u < 0.6 * PASS_S:
        f = PEAKS[k]
    else:
        f = lo_r + (PEAKS[k] - lo_r) * 0.5 * (1 + math.cos(math.pi * (u - 0.6 * PASS_S) / (0.4 * PASS_S)))
    if k == 1 and abs(u - 0.3) < 0.015:
        f *= 1 - 0.95 * 0.5 * (1 + math.cos(2 * math.pi * (u - 0.3) / 0.03))
    h = 1.0
    if k > 0:
        h *= u / math.sqrt(u * u + TURN * TURN)
    if k < 2:
        d = PASS_S - u
        h *= d / math.sqrt(d * d + TURN * TURN)
    sign = 1.0 if k % 2 == 0 else -1.0
    return f, sign * MU * f * h * math.cos(0.3), sign * MU * f * h * math.sin(0.3)


h = Harness(simulate=0)
try:
    sys_root, dev_root, sysd = make_tree(h.tmp)
    h.start_daemon(extra=["--iio-root", sys_root + ":" + dev_root])
    check(plain(h.prop(ROOT, "Manager", "Instruments")) == [INST], "the fake shear instrument appears")
    p = plain(h.props(INST, "Instrument"))
    check(p["Channels"][:3] == ["normal", "shear_x", "shear_y"] or len(p["Channels"]) == 3,
          "three channels (%s)" % p["Channels"])
    check(p["StrokeRule"] == "reversal", "StrokeRule with shear: %r" % p["StrokeRule"])

    pid = h.create_profile(patient_ref="burst-1", max_force_n=dbus.Double(CAP))
    spath = h.manager.StartSession(INST, pid, "upper_back")
    check(wait_for(lambda: attr(sysd, "buffer/enable").strip() == b"1"), "a session enables the buffer")
    w = Writer(os.path.join(dev_root, "iio:device0"))
    w.play(lambda t: (0.0, 0.0, 0.0), 0.5)
    w.play(burst, 3 * PASS_S + 0.6)
    strokes = lambda: [plain(s[3][0]) for s in h.signals_of("StrokeCompleted", spath)]
    check(wait_for(lambda: len(strokes()) >= 3), "three strokes (%d)" % len(strokes()))
    got = strokes()
    check(len(got) == 3, "exactly three strokes: one per pass, the strum dip splits nothing (%d)" % len(got))
    check([s.get("burst") for s in got] == [1, 1, 1], "one burst: %s" % [s.get("burst") for s in got])
    check([s.get("end") for s in got] == ["reversal", "reversal", "lift"],
          "ends: %s" % [s.get("end") for s in got])
    for s, pk in zip(got, PEAKS):
        check(close(s["peak_n"], pk, 0.3), "pass peak %.2f ~ %.1f N" % (s["peak_n"], pk))
    for i in range(len(got) - 1):
        check(close(got[i]["end_s"], got[i + 1]["start_s"], 1e-9), "passes touch")
        check(close(got[i]["end_s"], 0.5 + (i + 1) * PASS_S, 0.02),
              "turnaround %d at %.3f s (%.3f)" % (i + 1, 0.5 + (i + 1) * PASS_S, got[i]["end_s"]))
    exc = [plain(s[3][0]) for s in h.signals_of("LimitExceeded", spath)]
    check(len(exc) == 2, "LimitExceeded in pass 1 and pass 3 (%d)" % len(exc))
    if len(exc) == 2 and len(got) == 3:
        check(got[0]["start_s"] <= exc[0]["t_s"] <= got[0]["end_s"] and
              got[2]["start_s"] <= exc[1]["t_s"] <= got[2]["end_s"] + 0.05,
              "alarms inside passes 1 and 3 (%s)" % [e["t_s"] for e in exc])
    # the tool's alert: set, re-armed (off) at the reversal, set again
    def alert_seq():
        a = [plain(s[3][1])["Alert"] for s in h.signals_of("PropertiesChanged", INST)
             if "Alert" in plain(s[3][1])]
        return [x for i, x in enumerate(a) if i == 0 or x != a[i - 1]]
    wait_for(lambda: alert_seq()[-1:] == ["off"] and alert_seq().count("exceeded") >= 2)
    seq = alert_seq()
    check(seq == ["exceeded", "off", "exceeded", "off"],
          "alert exceeded, re-armed at the reversal, exceeded again, off at the lift (%s)" % seq)
    # a violation names the start of its own pass, not of the burst
    viol = [plain(v) for v in h.iface(spath, "Session").GetViolations() if plain(v)["kind"] == "exceeded"]
    if len(viol) == 2 and len(got) == 3:
        check(close(viol[0]["start_s"], got[0]["start_s"], 1e-6) and
              close(viol[1]["start_s"], got[2]["start_s"], 1e-6),
              "violations' start_s are their passes' (%s vs %s)" %
              ([v["start_s"] for v in viol], [s["start_s"] for s in got]))
    bursts = [plain(b) for b in h.iface(spath, "Session").GetBursts()]
    check(len(bursts) == 1 and bursts[0]["passes"] == 3 and close(bursts[0]["peak_n"], 8.0, 0.3),
          "GetBursts: one burst of three passes (%s)" % bursts)
    stored = [plain(s) for s in h.iface(spath, "Session").GetStrokes()]
    check([(s["burst"], s["end"]) for s in stored] == [(s["burst"], s["end"]) for s in got],
          "stored strokes keep burst and end")
    w.close()
    h.stop_daemon()
finally:
    h.cleanup()
finish()
