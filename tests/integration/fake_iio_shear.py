# SPDX-License-Identifier: LGPL-2.1-or-later
"""A fake IIO instrument with shear channels (normal force, shear x/y) on a
sysfs tree in a temporary directory, for strigild --iio-root, and a sweep
of one burst of three passes back and forth: tests/integration/test_bursts.py
(the daemon) and tests/clinic/test_clinic_bursts.py (the app) use it."""
import math
import os
import struct
import time
import zlib

import dbus

from harness import ROOT, pump

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
