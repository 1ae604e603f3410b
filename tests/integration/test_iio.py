#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The IIO backend of strigild (daemon/backend-iio.c over lib/iio.c) on a
fake sysfs tree (strigild --iio-root, test only): the instrument appears
with the device's calibration, Claim starts the buffer, samples written to
the fake /dev/iio:device0 (a FIFO) become strokes and a limit violation,
the alert is written to the device, WriteCalibration writes a valid blob,
and the device going away pauses the session. The real driver and udev
path run in the VM tests; this checks the daemon's side of the contract
(docs/sysfs-bus-iio-strigil)."""
import math
import os
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

SERIAL = "IIOFAKE1"
INST = dbus.ObjectPath(ROOT + "/instrument/" + SERIAL)
OFFSET, SCALE = 1000, 1e-4          # raw counts at 0 N, N per count
RATE = 1000


def blob(technician, cal_date, due_date):
    body = struct.pack("<HHB3x", 1, 76, 1)
    body += struct.pack("<iI", OFFSET, int(round(SCALE * 1e12)))
    body += struct.pack("<iI", 0, 0) * 3
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
        "name": "strigil", "serial": SERIAL, "model": "S1", "firmware": "1.2.3",
        "model_id": "1", "channel_mask": "1", "protocol_version": str(0x100),
        "sampling_frequency": str(RATE), "sampling_frequency_available": "500 1000",
        "full_scale": "8388607 0 0 0",
        "in_voltage0_scale": "0.100000000", "in_voltage0_offset": str(-OFFSET),
        "alert": "off", "status_flags": "0",
        "frames": "0", "samples": "0", "lost_samples": "0", "bad_frames": "0",
        "urb_errors": "0", "resyncs": "0",
        "scan_elements/in_voltage0_en": "0", "scan_elements/in_voltage0_index": "0",
        "scan_elements/in_voltage0_type": "le:s32/32>>0",
        "scan_elements/in_timestamp_en": "0", "scan_elements/in_timestamp_index": "1",
        "scan_elements/in_timestamp_type": "le:s64/64>>0",
        "buffer/enable": "0", "buffer/length": "0000000000", "buffer/watermark": "0000000000",
    }
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


class Writer:
    """Writes scans (s32 raw at 0, s64 timestamp at 8: 16 bytes)."""
    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY)
        self.t_ns = 1_000_000_000

    def force(self, newtons):
        raw = int(round(newtons / SCALE + OFFSET))
        self.t_ns += 1_000_000
        return struct.pack("<i4xq", raw, self.t_ns)

    def play(self, shape, seconds):
        n = int(seconds * RATE)
        data = b"".join(self.force(shape(i / RATE)) for i in range(n))
        for k in range(0, len(data), 4096):
            os.write(self.fd, data[k:k + 4096])
            pump(0.001)

    def close(self):
        os.close(self.fd)


def pulse(peak, contact):
    return lambda t: peak * 0.5 * (1 - math.cos(2 * math.pi * t / contact)) if t < contact else 0.0


h = Harness(simulate=0)
try:
    sys_root, dev_root, sysd = make_tree(h.tmp)
    h.start_daemon(extra=["--iio-root", sys_root + ":" + dev_root])
    check(plain(h.prop(ROOT, "Manager", "Instruments")) == [INST], "the fake IIO instrument appears")
    p = plain(h.props(INST, "Instrument"))
    check(p["Backend"] == "iio" and p["Serial"] == SERIAL and p["Model"] == "S1"
          and p["Firmware"] == "1.2.3" and p["SampleRateHz"] == RATE and p["Connected"],
          "identity from sysfs (%s)" % {k: p[k] for k in ("Backend", "Model", "Firmware", "SampleRateHz")})
    check(p["CalibrationValid"] and p["CalibrationTechnician"] == "tech-iio",
          "calibration from the device's blob (%s)" % p["CalibrationTechnician"])
    cal = plain(h.iface(INST, "Instrument").GetCalibration())
    check(close(cal["offset"][0], OFFSET, 1e-9) and close(cal["scale"][0], SCALE, 1e-15),
          "offset and scale from in_voltage0_offset/_scale (%s)" % cal)
    check(attr(sysd, "buffer/enable").strip() == b"0", "idle: the buffer is off")

    pid = h.create_profile(patient_ref="iio-1", max_force_n=dbus.Double(5.0))
    spath = h.manager.StartSession(INST, pid, "upper_back")
    check(wait_for(lambda: attr(sysd, "buffer/enable").strip() == b"1"), "a session enables the buffer")
    check(attr(sysd, "scan_elements/in_voltage0_en").strip() == b"1"
          and attr(sysd, "scan_elements/in_timestamp_en").strip() == b"1", "scan elements enabled")
    w = Writer(os.path.join(dev_root, "iio:device0"))
    alerts = set()
    w.play(lambda t: 0.0, 0.3)
    for peak in (3.0, 7.0, 3.5):
        w.play(pulse(peak, 0.5), 0.5)
        if peak > 5.0:
            # The stroke is not over until samples after it arrive, so the
            # alert stays set until the next play(): wait for the daemon to
            # have read the stroke and told the device (no fixed window).
            wait_for(lambda: alerts.add(attr(sysd, "alert")[:8].rstrip(b"\n")) or
                     b"exceeded" in alerts)
        alerts.add(attr(sysd, "alert")[:8].rstrip(b"\n"))
        w.play(lambda t: 0.0, 0.4)
    strokes = lambda: h.signals_of("StrokeCompleted", spath)
    check(wait_for(lambda: len(strokes()) >= 3), "three strokes from the IIO samples (%d)" % len(strokes()))
    peaks = [round(plain(s[3][0])["peak_n"], 2) for s in strokes()]
    check(len(peaks) == 3 and close(peaks[0], 3.0, 0.3) and close(peaks[1], 7.0, 0.5)
          and close(peaks[2], 3.5, 0.3), "stroke peaks through the device calibration (%s)" % peaks)
    check(len(h.signals_of("LimitExceeded", spath)) == 1, "one violation (the 7 N stroke)")
    check(b"exceeded" in alerts, "the alert was written to the device (%s)" % sorted(alerts))

    now = int(time.time())
    h.iface(INST, "Instrument").WriteCalibration(dbus.Dictionary({
        "technician": "tech-new", "due": dbus.UInt64((now + 100 * 86400) * 1000000),
        "offset": dbus.Array([1010.0], signature="d"),
        "scale": dbus.Array([1.25e-4], signature="d")}, signature="sv"))
    b = attr(sysd, "calibration")
    check(len(b) == 76 and zlib.crc32(b[:72]) & 0xffffffff == struct.unpack_from("<I", b, 72)[0],
          "WriteCalibration wrote a 76-byte blob with a valid CRC")
    off, spu = struct.unpack_from("<iI", b, 8)
    check(off == 1010 and spu == 125000000 and b[56:64].rstrip(b"\0") == b"tech-new",
          "the blob carries the new offset, scale and technician (%d, %d, %r)" % (off, spu, b[56:72]))

    w.close()   # the device goes away: EOF/HUP on the buffer
    check(wait_for(lambda: not plain(h.prop(INST, "Instrument", "Connected"))), "device gone: Connected false")
    check(plain(h.prop(spath, "Session", "State")) == "disconnected", "the session is paused, not lost")
    h.stop_daemon()
finally:
    h.cleanup()
finish()
