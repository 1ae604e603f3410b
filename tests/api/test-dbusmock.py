#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The python-dbusmock template of strigild (daemon/dbusmock/strigild.py)
on a real dbus-daemon: it cannot drift from daemon/org.strigil.Strigil1.xml
(every method and property it offers has the XML's signature, checked in
the live introspection of each kind of object; every signal it sends has
the XML's signature, checked on the wire; it offers every member of the
XML but the test-only Debug interface), and a client's flow works against
it: profiles, a session, the stream, strokes and alarms, unplug, errors,
polkit refusals.
Usage: test-dbusmock.py TOP [TEMPLATE]"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

TOP = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
TEMPLATE = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else
                           os.path.join(TOP, "daemon", "dbusmock", "strigild.py"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import (XML, check, dbus, drain, expect_error, finish, plain,  # noqa: E402
                     wait_for)

NAME = "org.strigil.Strigil1"
ROOT = "/org/strigil/Strigil1"
IFACE = NAME + "."
ERR = IFACE + "Error."
SIM1 = ROOT + "/instrument/SIM0001"
SINCE = "org.strigil.Strigil1.Since"


def xml_interfaces(text):
    """{short iface: {(kind, name): signature}} of the org.strigil interfaces;
    a method's signature is (in, out)."""
    out = {}
    for i in ET.fromstring(text).findall("interface"):
        if not i.get("name").startswith(IFACE):
            continue
        members = {}
        for m in i.findall("method"):
            args = m.findall("arg")
            members[("method", m.get("name"))] = (
                "".join(a.get("type") for a in args if a.get("direction", "in") == "in"),
                "".join(a.get("type") for a in args if a.get("direction") == "out"))
        for s in i.findall("signal"):
            members[("signal", s.get("name"))] = "".join(a.get("type") for a in s.findall("arg"))
        for p in i.findall("property"):
            members[("property", p.get("name"))] = p.get("type")
        out[i.get("name")[len(IFACE):]] = members
    return out


shipped = xml_interfaces(open(XML).read())
tmp = tempfile.mkdtemp(prefix="strigil-mock-")
bus_proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1",
                             "--address=unix:path=%s/bus" % tmp],
                            stdout=subprocess.PIPE, universal_newlines=True)
address = bus_proc.stdout.readline().strip()
mock_log = open(os.path.join(tmp, "mock.log"), "w+")
# the shipped policy, not whatever /etc/strigil holds on this machine
params = '{"policy": "%s"}' % os.path.join(TOP, "daemon", "policy.conf")
mock = subprocess.Popen(["/usr/bin/python3", "-m", "dbusmock", "--system", "--template", TEMPLATE,
                         "--parameters", params],
                        env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address),
                        stdout=mock_log, stderr=subprocess.STDOUT)
bus = dbus.bus.BusConnection(address)
signals = []      # (path, interface, member, signature, args); cleared by steps
wire = []         # every signal, never cleared: their signatures are checked


def on_message(_bus, msg):
    if msg.get_type() == 4:     # signal
        s = (msg.get_path(), msg.get_interface(), msg.get_member(),
             msg.get_signature() or "", msg.get_args_list())
        signals.append(s)
        wire.append(s)


bus.add_match_string("type='signal',sender='%s'" % NAME)
bus.add_message_filter(on_message)


def o(path):
    return bus.get_object(NAME, path, introspect=False)


def iface(path, name):
    return dbus.Interface(o(path), IFACE + name)


def props(path, name):
    return plain(o(path).GetAll(IFACE + name, dbus_interface="org.freedesktop.DBus.Properties"))


def mockctl():
    return dbus.Interface(o(ROOT), "org.freedesktop.DBus.Mock")


def sigs(member, path=None):
    return [s for s in signals if s[2] == member and (path is None or s[0] == path)]


def changed(path, name, prop):
    """Values of `prop` in PropertiesChanged of interface `name` at `path`."""
    return [plain(s[4][1])[prop] for s in sigs("PropertiesChanged", path)
            if s[4][0] == IFACE + name and prop in s[4][1]]


try:
    if not wait_for(lambda: bus.name_has_owner(NAME) or mock.poll() is not None, 30) or mock.poll() is not None:
        mock_log.seek(0)
        print(mock_log.read())
        raise RuntimeError("the mock did not start")

    # ---- the contract: introspection of every kind of object == the XML ---------------
    mgr = props(ROOT, "Manager")
    check(mgr["APIVersion"] == max([int(a.get("value")) for a in ET.parse(XML).getroot().iter("annotation")
                                    if a.get("name") == SINCE] + [1]),
          "APIVersion is the XML's highest level (%s)" % mgr["APIVersion"])
    check("upper_back" in mgr["Regions"] and "anticoagulants" in mgr["Conditions"],
          "Regions and Conditions come from the clinic policy (%d regions)" % len(mgr["Regions"]))
    if "LateralRegions" in mgr:
        check("calf" in mgr["LateralRegions"] and "calf:left" in mgr["Regions"] and "calf" not in mgr["Regions"],
              "a lateral region is offered once per side (%s)" % mgr["LateralRegions"])
    pid = iface(ROOT, "Manager").CreateProfile(dbus.Dictionary({
        "patient_ref": "mock-1", "display_name": "J.D.", "max_force_n": dbus.Double(12.0),
        "conditions": dbus.Array(["anticoagulants"], signature="s")}, signature="sv"))
    sess = iface(ROOT, "Manager").StartSession(SIM1, pid, "upper_back")
    offered = {}
    for path in (ROOT, SIM1, pid, sess):
        live = xml_interfaces(o(path).Introspect(dbus_interface="org.freedesktop.DBus.Introspectable"))
        for name, members in live.items():
            if not check(name in shipped, "%s: interface %s is in the XML" % (path, name)):
                continue
            for key, sig in members.items():
                want = shipped[name].get(key)
                check(want == sig, "%s.%s %s: %s in the mock, %s in the XML" % (name, key[1], key[0], sig, want))
                offered.setdefault(name, set()).add(key)
    drain()

    # ---- a client's flow (the signals it sees are checked at the end) ---------------------
    objs = o(ROOT).GetManagedObjects(dbus_interface="org.freedesktop.DBus.ObjectManager")
    check(ROOT not in objs and SIM1 in objs and pid in objs and sess in objs,
          "GetManagedObjects: the objects below the root, as strigild (%s)" % sorted(objs))
    check(plain(objs[SIM1][IFACE + "Instrument"])["CalibrationValid"] is True, "the instrument is calibrated")
    s = props(sess, "Session")
    check(s["State"] == "running" and s["Region"] == "upper_back", "session running on upper_back")
    check(abs(s["EffectiveLimitN"] - 5.0) < 1e-9 and "precaution" in s["Flags"],
          "anticoagulants halve the upper_back cap: 5 N, flag precaution (%s, %s)" % (s["EffectiveLimitN"], s["Flags"]))
    check(s["LimitSource"] in s["LimitReasons"] and len(s["LimitReasons"]) == 4,
          "LimitReasons in the daemon's wording (%s)" % s["LimitReasons"])
    check(props(SIM1, "Instrument")["ActiveSession"] == sess and props(SIM1, "Instrument")["Streaming"],
          "the instrument streams for its session")
    check(plain(props(ROOT, "Manager")["ActiveSessions"]) == [sess], "ActiveSessions")

    expect_error(lambda: iface(ROOT, "Manager").CreateProfile(dbus.Dictionary(
        {"patient_ref": "mock-1"}, signature="sv")), ERR + "InvalidArgument", "duplicate patient reference")
    expect_error(lambda: iface(ROOT, "Manager").CreateProfile(dbus.Dictionary(
        {"patient_ref": "x", "max_force_n": dbus.Int32(3)}, signature="sv")), ERR + "InvalidArgument",
        "a cap of the wrong type")
    expect_error(lambda: iface(ROOT, "Manager").StartSession(SIM1, pid, "upper_back"), ERR + "Busy",
                 "second session on the instrument")
    expect_error(lambda: iface(sess, "Session").SetRegion("elsewhere"), ERR + "InvalidArgument",
                 "unknown region")
    expect_error(lambda: iface(sess, "Session").SetRegion("calf"), ERR + "InvalidArgument",
                 "a lateral region without its side (never guessed)")
    expect_error(lambda: iface(sess, "Session").SetRegion("neck:left"), ERR + "InvalidArgument",
                 "a side on a midline region")
    expect_error(lambda: iface(ROOT, "Manager").CreateProfile(dbus.Dictionary(
        {"patient_ref": "J Doe"}, signature="sv")), ERR + "InvalidArgument",
        "a patient reference outside [A-Za-z0-9._-]")
    expect_error(lambda: o(SIM1).Set(IFACE + "Instrument", "Alert", "off",
                                     dbus_interface="org.freedesktop.DBus.Properties"),
                 "org.freedesktop.DBus.Error.PropertyReadOnly", "properties are read-only")
    dvt = iface(ROOT, "Manager").CreateProfile(dbus.Dictionary(
        {"patient_ref": "mock-2", "conditions": dbus.Array(["dvt"], signature="s")}, signature="sv"))
    expect_error(lambda: iface(ROOT, "Manager").StartSession(ROOT + "/instrument/NOPE", dvt, "calf"),
                 ERR + "NoSuchObject", "unknown instrument")

    # the stream: a claim, packets in the daemon's format
    inst = iface(SIM1, "Instrument")
    stream = socket.socket(fileno=inst.OpenStream().take())
    check(stream.type == socket.SOCK_SEQPACKET, "OpenStream: a SOCK_SEQPACKET fd")
    check(props(SIM1, "Instrument")["Claims"] == 1, "an open stream holds a claim")
    mockctl().StreamSamples(SIM1, dbus.Array([0.5 * k for k in range(100)], signature="d"))
    hdr, smp = struct.Struct("<IHHQII"), struct.Struct("<dffffII")
    got = []
    for first in (0, 64):
        pkt = stream.recv(65536)
        magic, ver, count, index, dropped, lost = hdr.unpack_from(pkt)
        check(magic == 0x31534753 and ver == 1 and index == first and len(pkt) == hdr.size + count * smp.size,
              "stream packet header (index %d, %d samples)" % (index, count))
        got += [smp.unpack_from(pkt, hdr.size + k * smp.size)[1] for k in range(count)]
    check(got == [0.5 * k for k in range(100)], "the stream carries the samples in order")
    stream.close()

    # strokes and alarms
    signals.clear()
    idx = mockctl().EmitStroke(sess, 4.0, 0.8)
    mockctl().EmitLimitWarning(sess, 4.6)
    mockctl().EmitLimitExceeded(sess, 6.2)
    check(wait_for(lambda: changed(SIM1, "Instrument", "Alert") == ["warning", "exceeded"], 10),
          "Alert: warning, then exceeded (%s)" % changed(SIM1, "Instrument", "Alert"))
    st = plain(sigs("StrokeCompleted", sess)[0][4][0])
    check(idx == 1 and st["index"] == 1 and st["peak_n"] == 4.0 and st["region"] == "upper_back"
          and st["side"] == "" and st["cap_n"] == 5.0 and st["cap_reasons"] == s["LimitReasons"]
          and abs(st["impulse_ns"] - 1.6) < 1e-9, "StrokeCompleted (%s)" % st)
    ex = plain(sigs("LimitExceeded", sess)[0][4][0])
    check(ex["force_n"] == 6.2 and ex["limit_n"] == 5.0 and ex["arrival_us"] > 0, "LimitExceeded (%s)" % ex)
    check(plain(sigs("LimitWarning", sess)[0][4][0])["arrival_us"] > 0, "LimitWarning carries arrival_us")
    s = props(sess, "Session")
    check((s["StrokeCount"], s["ViolationCount"], s["WarningCount"], s["PeakN"]) == (1, 1, 1, 4.0),
          "counts follow (%s)" % s)
    mockctl().EmitSessionCapReached(sess, "strokes")
    check(wait_for(lambda: sigs("SessionCapReached", sess), 10), "SessionCapReached")
    check([v["kind"] for v in plain(iface(sess, "Session").GetViolations())] ==
          ["warning", "exceeded", "cap_strokes"], "GetViolations, oldest first")
    mockctl().SetAlertFailures(SIM1, dbus.UInt32(2))
    mockctl().SetForce(SIM1, 3.25)
    check(wait_for(lambda: changed(SIM1, "Instrument", "ForceN") == [3.25], 10), "SetForce: ForceN changes")

    # unplug mid-alarm, re-plug
    signals.clear()
    mockctl().SetConnected(SIM1, False)
    check(wait_for(lambda: changed(SIM1, "Instrument", "Alert") == ["off"]
                   and changed(sess, "Session", "State") == ["disconnected"], 10),
          "unplug: Alert off, session disconnected")
    expect_error(lambda: iface(sess, "Session").Resume(), ERR + "Disconnected", "Resume while unplugged")
    expect_error(lambda: inst.Claim(), ERR + "Disconnected", "Claim while unplugged")
    mockctl().SetConnected(SIM1, True)
    check(wait_for(lambda: changed(sess, "Session", "State") == ["disconnected", "running"], 10), "re-plug resumes")
    iface(sess, "Session").Pause()
    expect_error(lambda: iface(sess, "Session").Pause(), ERR + "InvalidState", "Pause of a paused session")
    iface(sess, "Session").Resume()
    summary = plain(iface(sess, "Session").Stop())
    check(summary["state"] == "finished" and summary["strokes"] == 1 and summary["flags"] == 8
          and summary["flag_names"] == ["precaution"] and summary["patient_ref"] == "mock-1",
          "Stop returns the summary (%s)" % summary)
    check(props(sess, "Session")["Flags"] == ["precaution"], "precaution stays in the finished record")
    check([p["reason"] for p in plain(iface(sess, "Session").GetPauses())] == ["unplugged", "pause"],
          "GetPauses: the unplug and the pause")
    check(plain(props(ROOT, "Manager")["ActiveSessions"]) == [] and
          props(SIM1, "Instrument")["ActiveSession"] == "/", "the session left ActiveSessions")
    check(len(plain(iface(sess, "Session").GetStrokes())) == 1, "GetStrokes of the finished session")
    expect_error(lambda: iface(sess, "Session").Stop(), ERR + "InvalidState", "Stop of a finished session")
    if ("method", "FindProfile") in shipped["Manager"]:
        check(iface(ROOT, "Manager").FindProfile("mock-1") == pid, "FindProfile")
        expect_error(lambda: iface(ROOT, "Manager").FindProfile("nobody"), ERR + "NoSuchObject",
                     "FindProfile of an unknown reference")
        expect_error(lambda: iface(ROOT, "Manager").FindProfile("no body"), ERR + "InvalidArgument",
                     "FindProfile of a string that is no reference")

    # polkit: what the desktop's agent refused
    mockctl().SetAllowedActions(dbus.Array([IFACE + "monitor"], signature="s"))
    expect_error(lambda: iface(ROOT, "Manager").StartSession(SIM1, pid, "neck"), ERR + "AccessDenied",
                 "StartSession without the treat action")
    mockctl().SetAllowedActions(dbus.Array([IFACE + a for a in ("monitor", "treat", "manage-profiles")],
                                           signature="s"))
    expect_error(lambda: iface(ROOT, "Manager").StartSessionWithOptions(
        SIM1, dvt, "calf", dbus.Dictionary({"override_reason": "x"}, signature="sv")),
        ERR + "AccessDenied", "an override without override-contraindication")
    expect_error(lambda: iface(ROOT, "Manager").StartSession(SIM1, dvt, "calf:left"), ERR + "Contraindicated",
                 "dvt is an absolute contraindication")
    sess2 = iface(ROOT, "Manager").StartSession(SIM1, pid, "neck")
    expect_error(lambda: iface(pid, "Profile").Delete(), ERR + "Busy", "Delete of a profile in use")
    if ("method", "GetBursts") in shipped["Session"]:
        # bursts: each emitted stroke is a contact of its own (a model
        # without shear), numbered as strigild numbers them
        mockctl().EmitStroke(sess2, 3.0, 0.5)
        mockctl().EmitStroke(sess2, 3.5, 0.5)
        got = [(plain(x)["burst"], plain(x)["end"]) for x in iface(sess2, "Session").GetStrokes()]
        check(got == [(1, "lift"), (2, "lift")], "strokes carry their own burst, ended by a lift (%s)" % got)
        got = [(b["index"], b["passes"]) for b in plain(iface(sess2, "Session").GetBursts())]
        check(got == [(1, 1), (2, 1)], "GetBursts: two bursts of one pass (%s)" % got)
    iface(sess2, "Session").Stop()
    if ("method", "ListSessions") in shipped["Profile"]:
        page, total = iface(pid, "Profile").ListSessions(0, 1)
        check(list(page) == [sess2] and total == 2, "ListSessions: newest first, paged (%s, %d)" % (page, total))
        hist = plain(iface(pid, "Profile").GetRegionHistory())
        want = [(sess, "upper_back", 1)]
        if ("method", "GetBursts") in shipped["Session"]:
            want.append((sess2, "neck", 2))
        check(sorted((h["session"], h["region"], h["strokes"]) for h in hist) == sorted(want),
              "GetRegionHistory (%s)" % hist)
    if ("method", "ListProfiles") in shipped["Manager"]:
        m = iface(ROOT, "Manager")
        page, total = m.ListProfiles("", 0, 1)
        check(list(page) == [pid] and total == 2, "ListProfiles: by reference, paged (%s, %d)"
              % (page, total))
        page, total = m.ListProfiles("MOCK-", 1, 5)
        check(list(page) == [dvt] and total == 2, "ListProfiles: a reference prefix, either case, "
              "from an offset (%s, %d)" % (page, total))
        page, total = m.ListProfiles("j.d", 0, 5)
        check(list(page) == [pid] and total == 1, "ListProfiles: a display-name substring")
        page, total = m.ListProfiles("ock", 0, 5)
        check(list(page) == [] and total == 0, "ListProfiles: a reference by its prefix only")
        expect_error(lambda: m.ListProfiles("", 0, 0), ERR + "InvalidArgument", "ListProfiles limit 0")
        expect_error(lambda: m.ListProfiles("", 0, 1001), ERR + "InvalidArgument",
                     "ListProfiles limit 1001")
        expect_error(lambda: m.ListProfiles("x" * 128, 0, 5), ERR + "InvalidArgument",
                     "ListProfiles: a 128-byte query")
    iface(pid, "Profile").Update(dbus.Dictionary({"display_name": "K.L."}, signature="sv"))
    check(props(pid, "Profile")["DisplayName"] == "K.L.", "Update")
    signals.clear()
    iface(dvt, "Profile").Delete()
    check(wait_for(lambda: sigs("InterfacesRemoved"), 10) and dvt not in plain(props(ROOT, "Manager")["Profiles"]),
          "Delete: InterfacesRemoved, Profiles")

    # instruments come and go
    sim2 = mockctl().AddInstrument("SIM0002", dbus.Dictionary(
        {"Model": "S3", "Channels": dbus.Array(["normal", "shear_x", "shear_y", "tilt"], signature="s")},
        signature="sv"))
    check(props(sim2, "Instrument")["Channels"] == ["normal", "shear_x", "shear_y", "tilt"], "AddInstrument")
    mockctl().RemoveInstrument(sim2)
    check(wait_for(lambda: sigs("InstrumentAdded") and sigs("InstrumentRemoved"), 10)
          and plain(props(ROOT, "Manager")["Instruments"]) == [SIM1], "InstrumentAdded, InstrumentRemoved")

    # storage faults as strigild reports them (issue 16)
    if "StorageState" in props(ROOT, "Manager"):
        mockctl().SetStorageState("failing", "database is locked", dbus.UInt32(3))
        check(wait_for(lambda: sigs("StorageStateChanged"), 10)
              and plain(props(ROOT, "Manager")["StoragePending"]) == 3,
              "SetStorageState: StorageStateChanged, StoragePending")
        mockctl().SetStorageState("ok", "", dbus.UInt32(0))

    # ---- coverage, and the signals seen on the wire -------------------------------------------
    drain()
    seen = {}
    for path, interface, member, sig, _ in wire:
        if interface.startswith(IFACE):
            seen.setdefault((interface[len(IFACE):], member), set()).add(sig)
    for (name, member), got_sigs in sorted(seen.items()):
        want = shipped.get(name, {}).get(("signal", member))
        check(got_sigs == {want}, "signal %s.%s: %s on the wire, %s in the XML" % (name, member, got_sigs, want))
        offered.setdefault(name, set()).add(("signal", member))
    for name, members in sorted(shipped.items()):
        if name == "Debug":     # test-only, simulated instruments of the real daemon
            continue
        missing = sorted(k for k in members if k not in offered.get(name, set()))
        check(not missing, "the mock offers every member of %s in the XML (missing: %s)" % (name, missing))
except Exception:
    mock_log.seek(0)
    print(mock_log.read()[-3000:])
    raise
finally:
    for p in (mock, bus_proc):
        p.terminate()
        p.wait()
    mock_log.close()
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
finish()
