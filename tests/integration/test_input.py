#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bad input is refused with InvalidArgument (or NoSuchObject) and changes
nothing: profiles, sessions, calibration and the script queue."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

h = Harness(simulate=1)
try:
    h.start_daemon()
    good = h.create_profile(patient_ref="in-1", max_force_n=dbus.Double(9.0),
                            region_caps_n=dbus.Dictionary({"calf": 7.0}, signature="sd"),
                            conditions=dbus.Array(["thin_skin"], signature="s"))
    snapshot = lambda: (plain(h.prop(ROOT, "Manager", "Profiles")),
                        plain(h.props(good, "Profile")),
                        plain(h.prop(ROOT, "Manager", "Sessions")))
    s0 = snapshot()
    D = lambda **kw: dbus.Dictionary(kw, signature="sv")
    bad_profiles = [
        ("NaN max force", D(patient_ref="x1", max_force_n=dbus.Double(float("nan")))),
        ("infinite max force", D(patient_ref="x2", max_force_n=dbus.Double(float("inf")))),
        ("negative max force", D(patient_ref="x3", max_force_n=dbus.Double(-3.0))),
        ("absurd max force", D(patient_ref="x4", max_force_n=dbus.Double(500.0))),
        ("unknown region cap", D(patient_ref="x5", region_caps_n=dbus.Dictionary({"tail": 3.0}, signature="sd"))),
        ("NaN region cap", D(patient_ref="x6", region_caps_n=dbus.Dictionary({"calf": float("nan")}, signature="sd"))),
        ("unknown condition", D(patient_ref="x7", conditions=dbus.Array(["vampirism"], signature="s"))),
        ("over-long patient_ref", D(patient_ref="p" * 300)),
        ("over-long display name", D(patient_ref="x8", display_name="n" * 1000)),
        ("control characters", D(patient_ref="x9\n\t")),
        ("wrong type", D(patient_ref="x10", max_force_n="nine")),
        ("wrong container type", D(patient_ref="x11", conditions="dvt")),
        ("unknown key", D(patient_ref="x12", favourite_colour="blue")),
        ("missing patient_ref", D(max_force_n=dbus.Double(5.0))),
        ("inverted target band", D(patient_ref="x13", target_min_n=dbus.Double(6.0), target_max_n=dbus.Double(3.0))),
        ("duplicate patient_ref", D(patient_ref="in-1")),
    ]
    for what, d in bad_profiles:
        expect_error(lambda: h.manager.CreateProfile(d), ERR + "InvalidArgument", "CreateProfile: " + what)
    check(snapshot() == s0, "no profile created or changed by bad input")

    upd = h.iface(good, "Profile")
    for what, d in [("NaN", D(max_force_n=dbus.Double(float("nan")))),
                    ("unknown condition", D(conditions=dbus.Array(["anticoagulants", "nope"], signature="s"))),
                    ("half-valid update", D(display_name="ok", region_caps_n=dbus.Dictionary({"calf": -1.0}, signature="sd")))]:
        expect_error(lambda: upd.Update(d), ERR + "InvalidArgument", "Update: " + what)
    check(snapshot() == s0, "the profile is unchanged after bad updates")
    upd.Update(D(display_name="C.D."))
    check(plain(h.prop(good, "Profile", "DisplayName")) == "C.D.", "a good update works")
    check(plain(h.prop(good, "Profile", "RegionCapsN")) == {"calf": 7.0}, "...and keeps the other keys")
    s0 = snapshot()

    expect_error(lambda: h.manager.StartSession(SIM1, good, "nowhere"), ERR + "InvalidArgument",
                 "StartSession: unknown region")
    expect_error(lambda: h.manager.StartSession(SIM1, good, "x" * 5000), ERR + "InvalidArgument",
                 "StartSession: over-long region")
    expect_error(lambda: h.manager.StartSession(dbus.ObjectPath(ROOT + "/instrument/NOPE"), good, "calf"),
                 ERR + "NoSuchObject", "StartSession: unknown instrument")
    expect_error(lambda: h.manager.StartSession(SIM1, dbus.ObjectPath(ROOT + "/profile/999"), "calf"),
                 ERR + "NoSuchObject", "StartSession: unknown profile")
    expect_error(lambda: h.manager.StartSessionWithOptions(SIM1, good, "calf", D(colour="red")),
                 ERR + "InvalidArgument", "StartSessionWithOptions: unknown option")
    expect_error(lambda: h.manager.StartSessionWithOptions(SIM1, good, "calf", D(override_reason="r" * 5000)),
                 ERR + "InvalidArgument", "StartSessionWithOptions: over-long reason")
    check(snapshot() == s0, "no session created by bad input")

    inst = h.iface(SIM1, "Instrument")
    cal0 = plain(inst.GetCalibration())
    C = lambda **kw: dbus.Dictionary(dict({"technician": "t1", "due": dbus.UInt64(4102444800 * 1000000),
                                           "offset": dbus.Array([0.0], signature="d"),
                                           "scale": dbus.Array([1e-4], signature="d")}, **kw), signature="sv")
    for what, d in [("NaN scale", C(scale=dbus.Array([float("nan")], signature="d"))),
                    ("negative scale", C(scale=dbus.Array([-1e-4], signature="d"))),
                    ("wrong channel count", C(offset=dbus.Array([0.0, 1.0], signature="d"))),
                    ("due before date", C(due=dbus.UInt64(1))),
                    ("technician too long", C(technician="t" * 40)),
                    ("technician with spaces", C(technician="a b")),
                    ("wrong type", C(technician=dbus.UInt32(5))),
                    ("unknown key", C(colour="red"))]:
        expect_error(lambda: inst.WriteCalibration(d), ERR + "InvalidArgument", "WriteCalibration: " + what)
    check(plain(inst.GetCalibration()) == cal0, "calibration unchanged")

    inst.Claim()
    for v in (-1.0, 0.0, float("nan"), 1e9):
        expect_error(lambda: inst.ReadPoint(dbus.Double(v)), ERR + "InvalidArgument", "ReadPoint(%r)" % v)
    inst.Release()
    expect_error(lambda: inst.ReadPoint(dbus.Double(1.0)), ERR + "NotClaimed", "ReadPoint without a claim")
    dbg = h.iface(SIM1, "Debug")
    for what, st in [("NaN peak", [(float("nan"), 0.5, 0.5)]), ("negative contact", [(5.0, -1.0, 0.5)])]:
        expect_error(lambda: dbg.Play(dbus.Array(st, signature="(ddd)")), ERR + "InvalidArgument", "Play: " + what)
    expect_error(lambda: dbg.Spike(dbus.Double(float("inf"))), ERR + "InvalidArgument", "Spike(inf)")
    h.stop_daemon()
finally:
    h.cleanup()
finish()
