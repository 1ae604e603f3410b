#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The API surface: live introspection == shipped XML (EmitsChangedSignal
included), ObjectManager,
hotplug of simulated instruments (appear, unplug/replug keeps the object,
removal), claims with live ForceN, OpenStream frames and a slow reader
that is dropped-and-counted, ReadPoint."""
import os
import socket
import struct
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403


def interfaces_of(xml_text):
    """{iface: {(kind, name): signature}} for org.strigil.* interfaces."""
    out = {}
    for i in ET.fromstring(xml_text).findall("interface"):
        name = i.get("name")
        if not name.startswith("org.strigil."):
            continue
        members = {}
        for m in i.findall("method"):
            args = tuple((a.get("direction", "in"), a.get("type")) for a in m.findall("arg"))
            members[("method", m.get("name"))] = args
        for s in i.findall("signal"):
            members[("signal", s.get("name"))] = tuple(a.get("type") for a in s.findall("arg"))
        for p in i.findall("property"):
            # EmitsChangedSignal as declared (sd-bus writes it unless "true")
            emits = [a.get("value") for a in p.findall("annotation")
                     if a.get("name") == "org.freedesktop.DBus.Property.EmitsChangedSignal"]
            members[("property", p.get("name"))] = (p.get("type"), p.get("access"),
                                                     emits[0] if emits else "true")
        out[name] = members
    return out


def compare(shipped, live, where):
    for iface, members in live.items():
        if not check(iface in shipped, "%s: live interface %s is in the XML" % (where, iface)):
            continue
        want = shipped[iface]
        extra = sorted(set(members.items()) - set(want.items()))
        missing = sorted(set(want.items()) - set(members.items()))
        check(not extra and not missing, "%s: %s matches the XML (live only: %s, XML only: %s)"
              % (where, iface, extra, missing))


h = Harness(simulate=2)
try:
    h.start_daemon()
    shipped = interfaces_of(open(XML).read())

    # ---- introspection --------------------------------------------------
    pid = h.create_profile(patient_ref="api-1", max_force_n=dbus.Double(8.0))
    sess = h.manager.StartSession(SIM1, pid, "upper_back")
    seen = set()
    for path in (ROOT, SIM1, pid, sess):
        xml_text = h.obj(path).Introspect(dbus_interface="org.freedesktop.DBus.Introspectable")
        live = interfaces_of(xml_text)
        compare(shipped, live, path)
        seen |= set(live)
    check(seen == set(shipped), "every shipped interface is live (%s)" % sorted(set(shipped) - seen))
    h.iface(sess, "Session").Stop()

    # ---- ObjectManager ---------------------------------------------------
    objs = h.obj(ROOT).GetManagedObjects(dbus_interface="org.freedesktop.DBus.ObjectManager")
    insts = [p for p in objs if "/instrument/" in p]
    check(sorted(insts) == [ROOT + "/instrument/SIM0001", ROOT + "/instrument/SIM0002"],
          "two simulated instruments appear (%s)" % sorted(insts))
    check(IFACE + "Instrument" in objs[SIM1] and IFACE + "Debug" in objs[SIM1],
          "instrument object has Instrument and Debug")
    p = plain(objs[SIM1][IFACE + "Instrument"])
    check(p["Serial"] == "SIM0001" and p["Backend"] == "simulated" and p["Connected"]
          and p["Channels"] == ["normal"] and p["SampleRateHz"] == 1000
          and p["CalibrationValid"], "instrument properties (%s)" % p)
    # no shear channels: a stroke is a contact (docs/engine.md)
    check(p.get("StrokeRule") == "contact", "StrokeRule %r" % p.get("StrokeRule"))
    check(not p["Streaming"], "an idle instrument does not stream")
    check(sorted(plain(h.prop(ROOT, "Manager", "Instruments"))) == sorted(insts), "Manager.Instruments")
    check("upper_back" in plain(h.prop(ROOT, "Manager", "Regions")), "Manager.Regions")
    check("anticoagulants" in plain(h.prop(ROOT, "Manager", "Conditions")), "Manager.Conditions")

    # ---- hotplug: unplug/replug keeps the object ----------------------------
    debug = h.iface(SIM1, "Debug")
    h.signals.clear()
    debug.Unplug()
    check(wait_for(lambda: any(not plain(s[3][1]).get("Connected", True)
                               for s in h.signals_of("PropertiesChanged", SIM1))),
          "unplug: PropertiesChanged Connected=false")
    check(not plain(h.prop(SIM1, "Instrument", "Connected")), "unplugged instrument still has its object")
    expect_error(lambda: h.iface(SIM1, "Instrument").OpenStream(), ERR + "Disconnected",
                 "OpenStream while unplugged")
    debug.Replug()
    check(wait_for(lambda: any(plain(s[3][1]).get("Connected") is True
                               for s in h.signals_of("PropertiesChanged", SIM1))),
          "replug: PropertiesChanged Connected=true")

    # ---- removal --------------------------------------------------------------
    sim2 = ROOT + "/instrument/SIM0002"
    h.iface(sim2, "Debug").Remove()
    check(wait_for(lambda: h.signals_of("InstrumentRemoved")), "InstrumentRemoved signal")
    check(plain(h.signals_of("InstrumentRemoved")[0][3][0]) == sim2, "InstrumentRemoved names SIM0002")
    check(wait_for(lambda: h.signals_of("InterfacesRemoved")), "ObjectManager InterfacesRemoved")
    check(plain(h.prop(ROOT, "Manager", "Instruments")) == [SIM1], "Instruments lists only SIM0001")
    expect_error(lambda: h.prop(sim2, "Instrument", "Serial"),
                 "org.freedesktop.DBus.Error.UnknownObject", "removed instrument is gone")

    # ---- claim, live force ------------------------------------------------------
    inst = h.iface(SIM1, "Instrument")
    inst.Claim()
    check(wait_for(lambda: plain(h.prop(SIM1, "Instrument", "Streaming"))), "Claim starts streaming")
    check(plain(h.prop(SIM1, "Instrument", "Claims")) == 1, "Claims == 1")
    h.signals.clear()
    debug.Play(dbus.Array([(6.0, 0.6, 0.3)], signature="(ddd)"))
    check(wait_for(lambda: any(plain(s[3][1]).get("ForceN", 0) > 4.0
                               for s in h.signals_of("PropertiesChanged", SIM1))),
          "ForceN changes are emitted while claimed (peak seen > 4 N)")
    forces = [plain(s[3][1])["ForceN"] for s in h.signals_of("PropertiesChanged", SIM1)
              if "ForceN" in plain(s[3][1])]
    check(max(forces) < 6.5, "ForceN never above the played peak (%.2f)" % max(forces))
    check(wait_for(lambda: plain(h.prop(SIM1, "Instrument", "ForceN")) < 0.3),
          "ForceN back near zero after the stroke")

    # ---- ReadPoint ----------------------------------------------------------------
    inst.ReadPoint(dbus.Double(0.4), timeout=WAIT_S)  # the end of the stroke
    rp = plain(inst.ReadPoint(dbus.Double(0.2), timeout=WAIT_S))
    check(len(rp) == 1 and rp[0][0] == "normal" and rp[0][3] == 200,
          "ReadPoint: one channel, 200 samples (%s)" % rp)
    # simulated offset 1000 counts, noise 0.01 N = 100 counts RMS
    check(close(rp[0][1], 1000.0, 60.0) and 40 < rp[0][2] < 250,
          "ReadPoint: raw mean near the simulated offset, sane stddev (%s)" % rp)
    inst.Release()
    expect_error(lambda: inst.Release(), ERR + "NotClaimed", "second Release")
    check(wait_for(lambda: not plain(h.prop(SIM1, "Instrument", "Streaming"))),
          "Release of the last claim stops streaming")

    # ---- OpenStream -----------------------------------------------------------------
    fast = socket.socket(fileno=inst.OpenStream().take())
    slow = socket.socket(fileno=inst.OpenStream().take())
    check(fast.type == socket.SOCK_SEQPACKET, "stream is SOCK_SEQPACKET")
    check(wait_for(lambda: plain(h.prop(SIM1, "Instrument", "Streaming"))), "an open stream streams")
    fast.setblocking(False)
    slow.setblocking(False)
    hdr = struct.Struct("<IHHQII")
    smp = struct.Struct("<dffffII")
    got, index, bad = 0, None, 0

    def read_fast():
        global got, index, bad
        while True:
            try:
                pkt = fast.recv(65536)
            except BlockingIOError:
                return got >= 2000
            magic, ver, count, first, dropped, lost = hdr.unpack_from(pkt)
            if magic != 0x31534753 or ver != 1 or len(pkt) != hdr.size + count * smp.size:
                bad += 1
            if index is not None and first != index:
                bad += 1
            index = first + count
            got += count
    check(wait_for(read_fast), "fast reader got 2000 samples")
    check(bad == 0, "every packet well-formed and contiguous (%d bad)" % bad)

    drops = []

    def drain_slow():
        while True:
            try:
                pkt = slow.recv(65536)
            except BlockingIOError:
                return bool(drops)
            if hdr.unpack_from(pkt)[4] > 0:
                drops.append(hdr.unpack_from(pkt)[4])
    # the slow reader reads nothing while more samples are offered to it than
    # its socket can hold (SO_SNDBUF 64 KiB, doubled by the kernel, >= 32
    # bytes a sample: < 4100 samples); the daemon must drop, not block.
    # Counted in samples the fast reader got, not in wall-clock seconds.
    check(wait_for(lambda: read_fast() and got >= 6000),
          "fast reader got 6000 samples while the slow one read nothing (%d)" % got)
    check(wait_for(drain_slow), "a reader that does not keep up sees dropped samples counted (%s)"
          % drops[:3])
    check(plain(h.prop(ROOT, "Manager", "Version")) != "", "daemon still answers")
    fast.close()
    slow.close()
    check(wait_for(lambda: not plain(h.prop(SIM1, "Instrument", "Streaming"))),
          "closing the streams stops streaming")

    h.stop_daemon()
finally:
    h.cleanup()
finish()
