#!/usr/bin/python3
# security-client.py MODE [ARGS]: a D-Bus client of strigild on the system
# bus, run by test-security.sh as one of its test users (setpriv). Prints one
# line per call and a closing JSON line "RESULT {...}"; exits 1 when an
# expectation fails.
#
#   discover                 paths of the instrument and profiles (JSON)
#   setup INSTR              creates a profile, starts a session on INSTR, pauses it
#   denied ROLE INSTR PROF SESSION
#                            every state-changing call ROLE must not make is
#                            refused (bus policy or polkit)
#   own-name                 trying to own org.strigil.Strigil1 is refused
#   flood INSTR              many connections, many pipelined calls
#   fuzz INSTR PROF SESSION XML
#                            every method with wrong types, wrong arity,
#                            huge arrays, NaN/inf, long strings: an error
#                            reply each, never a success or a hang
import json
import math
import os
import sys
import xml.etree.ElementTree as ET

import dbus

NAME = "org.strigil.Strigil1"
ROOT = "/org/strigil/Strigil1"
IF = "org.strigil.Strigil1."
DENIALS = {
    "org.freedesktop.DBus.Error.AccessDenied",   # bus policy
    "org.strigil.Strigil1.Error.AccessDenied",   # polkit said no
    "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
}
TIMEOUT = 60.0   # a liveness bound only: a hung daemon fails, never a slow one

failures = []


def bus():
    return dbus.SystemBus()


def call(b, path, iface, member, sig="", args=(), timeout=TIMEOUT):
    """(ok, value_or_error_name, message)"""
    try:
        r = b.call_blocking(NAME, path, iface, member, sig, list(args), timeout=timeout)
        return True, r, ""
    except dbus.exceptions.DBusException as e:
        return False, e.get_dbus_name(), e.get_dbus_message() or ""


def expect(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)


def finish(result):
    result["failures"] = failures
    print("RESULT " + json.dumps(result), flush=True)
    sys.exit(1 if failures else 0)


def profile_props(name="sec-test"):
    return dbus.Dictionary({"display_name": dbus.String(name),
                            "patient_ref": dbus.String("SEC-" + name),
                            "max_force_n": dbus.Double(8.0)}, signature="sv")


def calibration():
    return dbus.Dictionary({"technician": dbus.String("intruder"),
                            "offset": dbus.Array([dbus.Double(0.0)], signature="d"),
                            "scale": dbus.Array([dbus.Double(1e-6)], signature="d"),
                            "date": dbus.UInt64(1), "due": dbus.UInt64(2 ** 62)},
                           signature="sv")


def mode_discover():
    b = bus()
    ok, objs, msg = call(b, ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
    if not ok:
        print("GetManagedObjects: %s %s" % (objs, msg))
        sys.exit(1)
    out = {"instruments": [], "profiles": [], "sessions": []}
    for path, ifaces in objs.items():
        for kind in ("Instrument", "Profile", "Session"):
            if IF + kind in ifaces:
                out[kind.lower() + "s"].append(str(path))
    for k in out:
        out[k].sort()
    print(json.dumps(out))


def mode_setup(instr):
    b = bus()
    ok, regions, msg = call(b, ROOT, "org.freedesktop.DBus.Properties", "Get", "ss", (IF + "Manager", "Regions"))
    expect(ok and len(regions) > 0, "Manager.Regions readable by a clinician (%s)" % (regions if ok else msg))
    ok, prof, msg = call(b, ROOT, IF + "Manager", "CreateProfile", "a{sv}", (profile_props("setup"),))
    expect(ok, "clinician CreateProfile (%s %s)" % (prof, msg))
    if not ok:
        finish({})
    ok, sess, msg = call(b, ROOT, IF + "Manager", "StartSession", "oos", (instr, prof, str(regions[0])))
    expect(ok, "clinician StartSession (%s %s)" % (sess, msg))
    if ok:
        # Paused, the session writes nothing more: the database is stable
        # and "nothing changed" can be checked exactly.
        ok, r, msg = call(b, sess, IF + "Session", "Pause")
        expect(ok, "clinician Session.Pause (%s %s)" % (r, msg))
    finish({"profile": str(prof), "session": str(sess) if ok else "", "region": str(regions[0])})


def denied_calls(role, instr, prof, sess):
    """The calls ROLE must be refused: (label, path, iface, member, sig, args)."""
    treat = [
        ("CreateProfile", ROOT, IF + "Manager", "CreateProfile", "a{sv}", (profile_props("intruder"),)),
        ("StartSession", ROOT, IF + "Manager", "StartSession", "oos", (instr, prof, "forearm")),
        ("StartSessionWithOptions(override)", ROOT, IF + "Manager", "StartSessionWithOptions", "oosa{sv}",
         (instr, prof, "forearm", dbus.Dictionary({"override_reason": dbus.String("none")}, signature="sv"))),
        ("Profile.Update", prof, IF + "Profile", "Update", "a{sv}", (profile_props("changed"),)),
        ("Profile.Delete", prof, IF + "Profile", "Delete", "", ()),
        ("Instrument.Tare", instr, IF + "Instrument", "Tare", "", ()),
    ]
    if sess:
        treat += [
            ("Session.SetRegion", sess, IF + "Session", "SetRegion", "s", ("neck",)),
            ("Session.Resume", sess, IF + "Session", "Resume", "", ()),
            ("Session.Stop", sess, IF + "Session", "Stop", "", ()),
        ]
    calib = [
        ("WriteCalibration", instr, IF + "Instrument", "WriteCalibration", "a{sv}", (calibration(),)),
        ("ReadPoint", instr, IF + "Instrument", "ReadPoint", "d", (0.1,)),
        ("Debug.Unplug", instr, IF + "Debug", "Unplug", "", ()),
        ("Debug.Spike", instr, IF + "Debug", "Spike", "d", (30.0,)),
    ]
    monitor = [
        ("Instrument.Claim", instr, IF + "Instrument", "Claim", "", ()),
        ("Instrument.OpenStream", instr, IF + "Instrument", "OpenStream", "", ()),
    ]
    # Reading is for the clinic's groups only (patient profiles are health data).
    read = [
        ("ObjectManager.GetManagedObjects", ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", "", ()),
        ("Properties.GetAll(Profile)", prof, "org.freedesktop.DBus.Properties", "GetAll", "s", (IF + "Profile",)),
        ("Session.GetStrokes", sess or ROOT, IF + "Session", "GetStrokes", "", ()),
    ]
    return {"none": read + treat + calib + monitor, "technician": treat, "clinician": calib}[role]


def mode_denied(role, instr, prof, sess):
    b = bus()
    n = 0
    for label, path, iface, member, sig, args in denied_calls(role, instr, prof, sess):
        ok, r, msg = call(b, path, iface, member, sig, args)
        expect(not ok and r in DENIALS, "%s refused for %s: %s" % (label, role, "SUCCEEDED" if ok else r))
        n += 1
    finish({"role": role, "refused": n - len(failures), "calls": n})


def mode_own_name():
    b = bus()
    try:
        r = b.request_name(NAME, dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
        expect(False, "RequestName(%s) refused (got reply %d)" % (NAME, r))
    except dbus.exceptions.DBusException as e:
        expect(e.get_dbus_name() == "org.freedesktop.DBus.Error.AccessDenied",
               "RequestName(%s) refused: %s" % (NAME, e.get_dbus_name()))
    finish({})


def mode_flood(instr, nconn, ncalls):
    """Many connections held open at once, then many calls pipelined on one."""
    conns = []
    refused = 0
    for _ in range(nconn):
        try:
            c = dbus.bus.BusConnection(dbus.bus.BusConnection.TYPE_SYSTEM)
            c.call_blocking(NAME, ROOT, "org.freedesktop.DBus.Properties", "Get", "ss",
                            [IF + "Manager", "Version"], timeout=TIMEOUT)
            conns.append(c)
        except dbus.exceptions.DBusException as e:
            refused += 1          # the bus's per-user connection limit
            if refused == 1:
                print("connection refused by the bus: %s" % e.get_dbus_name())
    print("connections: %d open and answered, %d refused by the bus" % (len(conns), refused))
    expect(len(conns) >= min(nconn, 100), "at least 100 simultaneous connections served")

    # Pipelined: send every call first, then collect the replies.
    from dbus.lowlevel import MethodCallMessage
    c = conns[0] if conns else bus()
    replies = {"ok": 0, "err": {}}

    def on_reply(r):
        if r.get_type() == 2:     # METHOD_RETURN
            replies["ok"] += 1
        else:
            n = r.get_error_name()
            replies["err"][n] = replies["err"].get(n, 0) + 1

    pending = []
    for i in range(ncalls):
        m = MethodCallMessage(NAME, instr, "org.freedesktop.DBus.Properties", "Get")
        m.append(IF + "Instrument", "LostSamples", signature="ss")
        pending.append(c.send_message_with_reply(m, on_reply, TIMEOUT, require_main_loop=False))
    for p in pending:
        p.block()
    missing = ncalls - replies["ok"] - sum(replies["err"].values())
    if missing:
        replies["err"]["no reply"] = missing
    print("pipelined calls: %d answered, errors %s" % (replies["ok"], replies["err"]))
    # The bus may refuse calls over its pending-reply limit; the daemon must
    # answer every call that reached it.
    bad = {k: v for k, v in replies["err"].items() if k != "org.freedesktop.DBus.Error.LimitsExceeded"}
    expect(not bad and replies["ok"] > 0, "every pipelined call answered or refused by the bus limit")
    for cc in conns:
        cc.close()
    finish({"connections": len(conns), "refused": refused, "calls": ncalls,
            "answered": replies["ok"], "errors": replies["err"]})


def mode_alive(instr, n):
    """Another client during a flood: n calls, each must be answered."""
    b = bus()
    good = 0
    for _ in range(n):
        ok, r, msg = call(b, instr, "org.freedesktop.DBus.Properties", "Get", "ss", (IF + "Instrument", "Connected"))
        good += ok
    expect(good == n, "%d/%d calls of a bystander answered" % (good, n))
    finish({"answered": good, "calls": n})


# ---- fuzz ----------------------------------------------------------------

BAD_DOUBLES = [float("nan"), float("inf"), -float("inf"), -1.0, 1e308]


def bad_values(sig):
    """(label, signature, value) of bad or hostile values of type sig."""
    out = []
    if sig == "d":
        out += [("d=%r" % v, "d", dbus.Double(v)) for v in BAD_DOUBLES]
    elif sig == "s":
        out += [("s=empty", "s", ""), ("s=64KiB", "s", "x" * 65536),
                ("s=unknown", "s", "no-such-region"), ("s=control", "s", "a\x01b\n;DROP TABLE")]
    elif sig == "o":
        out += [("o=/", "o", dbus.ObjectPath("/")),
                ("o=missing", "o", dbus.ObjectPath(ROOT + "/instrument/nonexistent")),
                ("o=wrongkind", "o", dbus.ObjectPath(ROOT))]
    elif sig == "a{sv}":
        out += [("a{sv}=100k-keys", "a{sv}",
                 dbus.Dictionary({"k%d" % i: dbus.Int32(i) for i in range(100000)}, signature="sv"))]
        for key in ("display_name", "patient_ref", "max_force_n", "conditions", "region_caps",
                    "technician", "offset", "scale", "due", "override_reason", "note"):
            for lab, val in (("nan", dbus.Double(float("nan"))), ("inf", dbus.Double(float("inf"))),
                             ("neg", dbus.Double(-5.0)), ("str1M", dbus.String("y" * (1 << 20))),
                             ("int", dbus.Int32(-1)), ("arr1M", dbus.Array([dbus.Double(float("nan"))] * (1 << 17), signature="d")),
                             ("nested", dbus.Dictionary({"a": dbus.Dictionary({"b": dbus.Int32(1)}, signature="sv")}, signature="sv"))):
                out.append(("a{sv}[%s]=%s" % (key, lab), "a{sv}", dbus.Dictionary({key: val}, signature="sv")))
    elif sig == "a(ddd)":
        out += [("a(ddd)=nan", "a(ddd)", dbus.Array([dbus.Struct((dbus.Double(float("nan")),) * 3)], signature="(ddd)")),
                ("a(ddd)=neg", "a(ddd)", dbus.Array([dbus.Struct((dbus.Double(-1.0),) * 3)], signature="(ddd)")),
                ("a(ddd)=200k", "a(ddd)", dbus.Array([dbus.Struct((dbus.Double(5.0), dbus.Double(0.5), dbus.Double(1e9)))] * 200000, signature="(ddd)"))]
    return out


def wrong_type(sig):
    """A value of another type for an argument of type sig."""
    return ("u", dbus.UInt32(7)) if sig != "u" else ("s", "seven")


def fuzz_cases(member, in_sigs, good):
    """Calls that must all fail: wrong arity, wrong types, bad values."""
    cases = []
    full = "".join(in_sigs)
    cases.append(("extra argument", full + "i", list(good) + [dbus.Int32(1)]))
    if in_sigs:
        cases.append(("no arguments", "", []))
        for i, s in enumerate(in_sigs):
            ws, wv = wrong_type(s)
            cases.append(("arg%d wrong type %s" % (i, ws), full[:0] + "".join(in_sigs[:i]) + ws + "".join(in_sigs[i + 1:]),
                          list(good[:i]) + [wv] + list(good[i + 1:])))
            for lab, bs, bv in bad_values(s):
                cases.append(("arg%d %s" % (i, lab), full, list(good[:i]) + [bv] + list(good[i + 1:])))
    return cases


def split_sig(sig):
    """D-Bus signature -> list of single complete types."""
    out, i = [], 0
    while i < len(sig):
        j = i
        depth = 0
        while True:
            ch = sig[j]
            if ch == "a":
                j += 1
                continue
            if ch in "({":
                depth += 1
            elif ch in ")}":
                depth -= 1
            j += 1
            if depth == 0:
                break
        out.append(sig[i:j])
        i = j
    return out


def mode_fuzz(instr, prof, sess, xml):
    b = bus()
    paths = {"Manager": ROOT, "Instrument": instr, "Debug": instr, "Profile": prof, "Session": sess}
    # Known-good arguments, used around the one argument being fuzzed.
    good_by_sig = {"o": dbus.ObjectPath(instr), "s": "forearm", "d": dbus.Double(1.0),
                   "u": dbus.UInt32(0), "t": dbus.UInt64(0), "i": dbus.Int32(0),
                   "x": dbus.Int64(0), "b": dbus.Boolean(False),
                   "as": dbus.Array([], signature="s"), "ao": dbus.Array([], signature="o"),
                   "a{sv}": dbus.Dictionary({}, signature="sv"),
                   "a(ddd)": dbus.Array([], signature="(ddd)")}
    total = 0
    counts = {}
    for iface in ET.parse(xml).getroot().iter("interface"):
        short = iface.get("name").rsplit(".", 1)[-1]
        path = paths.get(short)
        if not path:
            continue
        for m in iface.iter("method"):
            in_sigs = [a.get("type") for a in m.iter("arg") if a.get("direction", "in") == "in"]
            good = [good_by_sig.get(s, dbus.String("")) for s in in_sigs]
            if m.get("name") in ("StartSession", "StartSessionWithOptions"):
                good[1] = dbus.ObjectPath(prof)
            for label, sig, args in fuzz_cases(m.get("name"), in_sigs, good):
                what = "%s.%s %s" % (short, m.get("name"), label)
                try:
                    ok, r, msg = call(b, path, iface.get("name"), m.get("name"), sig, args)
                except (TypeError, ValueError) as e:
                    # a type this client has no value for: its own bug, said as such
                    expect(False, what + ": the test cannot build this call (%s)" % e)
                    continue
                total += 1
                if ok:
                    expect(False, what + ": accepted")
                else:
                    counts[r] = counts.get(r, 0) + 1
                    if r in ("org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.ServiceUnknown",
                             "org.freedesktop.DBus.Error.Disconnected"):
                        expect(False, what + ": " + r)
    print("fuzz: %d calls, replies %s" % (total, json.dumps(counts, sort_keys=True)))
    expect(total > 0, "fuzzed at least one call")
    finish({"calls": total, "errors": counts})


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "discover":
        mode_discover()
    elif mode == "setup":
        mode_setup(args[0])
    elif mode == "denied":
        mode_denied(*args)
    elif mode == "own-name":
        mode_own_name()
    elif mode == "flood":
        mode_flood(args[0], int(args[1]), int(args[2]))
    elif mode == "alive":
        mode_alive(args[0], int(args[1]))
    elif mode == "fuzz":
        mode_fuzz(*args)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
