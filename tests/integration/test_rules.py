#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Clinical rules wired into the daemon: absolute contraindications refuse
(and an override needs its own polkit action and a recorded reason; some
conditions allow none), local contraindications only in their region,
precautions tighten the cap and say why, expired calibration refuses, and
WriteCalibration keeps the history."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

h = Harness(simulate=2)
SIM2 = dbus.ObjectPath(ROOT + "/instrument/SIM0002")
try:
    h.start_daemon()
    # every stored session (Manager.Sessions names only those in progress)
    nsess = lambda: int(h.manager.ListSessions(dbus.UInt32(0), dbus.UInt32(1))[1])
    opts = lambda **kw: dbus.Dictionary(kw, signature="sv")

    # ---- absolute contraindication, no override allowed by the clinic ----
    dvt = h.create_profile(patient_ref="rules-dvt", conditions=dbus.Array(["dvt"], signature="s"))
    e = expect_error(lambda: h.manager.StartSession(SIM1, dvt, "calf"), ERR + "Contraindicated",
                     "DVT refuses a session")
    check(e is not None and "dvt" in e.get_dbus_message(), "the refusal names the condition")
    expect_error(lambda: h.manager.StartSessionWithOptions(SIM1, dvt, "calf",
                                                           opts(override_reason="clinician decision")),
                 ERR + "Contraindicated", "DVT cannot be overridden")
    check(nsess() == 0, "no session was created")

    # ---- overridable contraindication -------------------------------------------
    hyp = h.create_profile(patient_ref="rules-hyp",
                           conditions=dbus.Array(["uncontrolled_hypertension"], signature="s"))
    expect_error(lambda: h.manager.StartSession(SIM1, hyp, "upper_back"), ERR + "Contraindicated",
                 "hypertension refuses without override")
    h.set_allowed([a for a in ACTIONS if not a.endswith("override-contraindication")])
    expect_error(lambda: h.manager.StartSessionWithOptions(SIM1, hyp, "upper_back",
                                                           opts(override_reason="BP checked: 135/85")),
                 ERR + "AccessDenied", "override without the override action")
    check(nsess() == 0, "still no session")
    h.set_allowed(ACTIONS)
    expect_error(lambda: h.manager.StartSessionWithOptions(SIM1, hyp, "upper_back", opts(override_reason="")),
                 ERR + "InvalidArgument", "override with an empty reason")
    s = h.manager.StartSessionWithOptions(SIM1, hyp, "upper_back",
                                          opts(override_reason="BP checked: 135/85", note="first visit"))
    p = plain(h.props(s, "Session"))
    check("override" in p["Flags"] and p["OverrideReason"] == "BP checked: 135/85",
          "override recorded (%s, %r)" % (p["Flags"], p["OverrideReason"]))
    check(p["EffectiveLimitN"] < 10.0 and any("uncontrolled_hypertension" in r for r in p["LimitReasons"]),
          "the overridden condition's factor applies (%.2f N, %s)" % (p["EffectiveLimitN"], p["LimitReasons"]))
    expect_error(lambda: h.manager.StartSession(SIM1, hyp, "upper_back"), ERR + "Busy",
                 "second session on a busy instrument")
    h.iface(s, "Session").Stop()

    # ---- local contraindication ---------------------------------------------------
    wound = h.create_profile(patient_ref="rules-wound",
                             conditions=dbus.Array(["open_wound@calf"], signature="s"))
    expect_error(lambda: h.manager.StartSession(SIM1, wound, "calf"), ERR + "Contraindicated",
                 "open wound on the calf refuses the calf")
    s = h.manager.StartSession(SIM1, wound, "upper_back")
    check(plain(h.prop(s, "Session", "State")) == "running", "...but the upper back is fine")
    expect_error(lambda: h.iface(s, "Session").SetRegion("calf"), ERR + "Contraindicated",
                 "SetRegion into the wound's region")
    check(plain(h.prop(s, "Session", "Region")) == "upper_back", "region unchanged after the refusal")
    expect_error(lambda: h.iface(s, "Session").SetRegion("nowhere"), ERR + "InvalidArgument",
                 "SetRegion to an unknown region")
    h.iface(s, "Session").Stop()

    # ---- precautions tighten, strictest wins ---------------------------------------
    base = h.create_profile(patient_ref="rules-base")
    anti = h.create_profile(patient_ref="rules-anti",
                            conditions=dbus.Array(["anticoagulants"], signature="s"))
    s = h.manager.StartSession(SIM1, base, "upper_back")
    base_limit = plain(h.prop(s, "Session", "EffectiveLimitN"))
    h.iface(s, "Session").Stop()
    s = h.manager.StartSession(SIM1, anti, "upper_back")
    p = plain(h.props(s, "Session"))
    check(close(p["EffectiveLimitN"], base_limit * 0.5, 1e-6),
          "anticoagulants halve the cap: %.2f -> %.2f N" % (base_limit, p["EffectiveLimitN"]))
    check("anticoagulants" in p["LimitSource"], "LimitSource says anticoagulants (%s)" % p["LimitSource"])
    check(any("anticoagulants" in r for r in p["LimitReasons"]), "LimitReasons (%s)" % p["LimitReasons"])
    check("precaution" in p["Flags"], "flag precaution (%s)" % p["Flags"])
    # ---- Delete: refused while a session uses the profile, then soft ----
    expect_error(lambda: h.iface(anti, "Profile").Delete(), ERR + "Busy", "Delete a profile in use")
    h.iface(s, "Session").Stop()
    nprof = len(plain(h.prop(ROOT, "Manager", "Profiles")))
    h.iface(anti, "Profile").Delete()
    check(len(plain(h.prop(ROOT, "Manager", "Profiles"))) == nprof - 1 and
          anti not in plain(h.prop(ROOT, "Manager", "Profiles")), "Delete removes the profile object")
    check(plain(h.prop(s, "Session", "Profile")) == anti and len(h.iface(s, "Session").GetStrokes()) == 0,
          "the session's record keeps its profile path")
    expect_error(lambda: h.manager.StartSession(SIM1, anti, "upper_back"), ERR + "NoSuchObject",
                 "a deleted profile cannot start a session")

    # ---- calibration: expired refuses, history kept --------------------------------
    inst2 = h.iface(SIM2, "Instrument")
    before = plain(inst2.GetCalibration())
    hist0 = len(inst2.GetCalibrationHistory())
    now = int(time.time())
    inst2.WriteCalibration(dbus.Dictionary({
        "technician": "tech-7",
        "date": dbus.UInt64((now - 400 * 86400) * 1000000),
        "due": dbus.UInt64((now - 35 * 86400) * 1000000),
        "offset": dbus.Array([1000.0], signature="d"),
        "scale": dbus.Array([1e-4], signature="d")}, signature="sv"))
    after = plain(inst2.GetCalibration())
    check(after["technician"] == "tech-7" and not after["valid"], "expired calibration written (%s)" % after)
    check(not plain(h.prop(SIM2, "Instrument", "CalibrationValid")), "CalibrationValid false")
    hist = [plain(x) for x in inst2.GetCalibrationHistory()]
    check(len(hist) == hist0 + 1 and hist[0]["technician"] == before["technician"]
          and close(hist[0]["scale"][0], before["scale"][0], 1e-15) and hist[0]["replaced_at"] > 0,
          "history keeps the replaced calibration, not the one in use (%s)" % [x["technician"] for x in hist])
    expect_error(lambda: h.manager.StartSession(SIM2, base, "upper_back"), ERR + "CalibrationExpired",
                 "expired calibration refuses a session")
    check(nsess() == 4, "no session added by the refusals (%d)" % nsess())
    h.stop_daemon()

    # a clinic policy that allows expired calibration: the session is marked
    lenient = os.path.join(h.tmp, "lenient.conf")
    with open(POLICY) as f:
        text = f.read()
    check("allow_expired = no" in text, "the shipped policy refuses expired calibration")
    with open(lenient, "w") as f:
        f.write(text.replace("allow_expired = no", "allow_expired = yes"))
    h.start_daemon(extra=["--policy", lenient])
    check(not plain(h.prop(SIM2, "Instrument", "CalibrationValid")),
          "the (simulated) device kept its expired calibration across the restart")
    s = h.manager.StartSession(SIM2, base, "upper_back")
    check("calibration-expired" in plain(h.prop(s, "Session", "Flags")),
          "lenient policy: session starts, marked calibration-expired (%s)" % plain(h.prop(s, "Session", "Flags")))
    h.iface(s, "Session").Stop()
    h.stop_daemon()
finally:
    h.cleanup()
finish()
