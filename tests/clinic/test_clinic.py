#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""strigil-clinic end to end: the real app under Xvfb, driven through AT-SPI
like a screen-reader user, against the real strigild --simulate on a
private bus with our bus policy and the polkit mock.

What it proves: a patient is created through the form (and the daemon's
validation error shows next to the field); a session starts on the chosen
region; a scripted over-cap stroke turns the treatment view into the alarm
state (an ALERT-role label) and it clears when the force drops; a broken
tool alarm shows a persistent banner; an unplugged instrument shows the
paused state; each stroke row names its burst and pass ("burst 2 · pass
1/1": the simulated instrument has no shear, so every burst is one pass)
and a bursts summary shows the last burst's passes, duration and peak;
history lists the visit and its record lists bursts with their passes and
every stroke's pass; the PDF report has the patient reference and every
region; the daemon killed and restarted: the app says
so and recovers by itself. Screenshots of each screen go to
build/clinic-shots/.
"""
import os
import re
import subprocess
import sys
import time

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clinic_env  # noqa: E402
from clinic_env import harness  # noqa: E402
from harness import check, finish, SIM1  # noqa: E402

REF = "P-7731"
CALF = "Calf (gastrocnemius, soleus)"
NECK = "Neck (posterior cervical)"
# Sides (records work): the test treats calf:left when the daemon knows
# lateral regions, a plain region otherwise.
WAIT = 30


def label_showing(d, contains, role=None, timeout=WAIT):
    return d.find(role=role, contains=contains, timeout=timeout)


def gone(d, contains, role=None, timeout=WAIT):
    return harness.wait_for(lambda: not d.find_all(role=role, contains=contains), timeout)


def unnamed_controls(d):
    """Every control a user can operate must have an accessible name."""
    bad = []
    for role in ("push button", "toggle button", "check box", "entry", "list", "text",
                 "combo box", "page tab", "password text", "spin button"):
        for a in d.find_all(role=role):
            if not (a.name or "").strip():
                bad.append(role)
    return bad


def main():
    h = harness.Harness(simulate=1)
    d = None
    try:
        # calf has sides in this clinic (the shipped policy leaves it midline)
        h.write_policy(lateral=["calf", "hamstring", "shoulder"])
        h.start_daemon()
        sides = False
        for r in harness.plain(h.prop(harness.ROOT, "Manager", "RegionDetails")):
            if r["name"] == "calf" and r.get("lateral"):
                sides = True
        check(sides, "the daemon reports calf as lateral (RegionDetails)")
        region_text = "calf:left" if sides else "calf"

        d = clinic_env.Desktop(h)
        d.start_app()
        check(d.find(role="text", name="Patient reference") is not None, "the Patients screen shows the form")
        check(d.find(role="check box", contains="thrombophlebitis (blocks treatment)") is not None,
              "a contraindication is shown as blocking treatment")
        check(d.find(role="check box", contains="Anticoagulant or antiplatelet medication (gentler caps") is not None,
              "a precaution is shown as gentler caps")
        bad = unnamed_controls(d)
        check(not bad, "every control on the Patients screen has an accessible name (%s)" % bad)
        # keyboard: Alt+3 and Alt+1 switch screens
        P = d.pyatspi
        d.key_combo(64, 12)    # Alt_L + 3
        hist_tab = d.find(role="page tab", name="History")
        check(harness.wait_for(lambda: hist_tab.getState().contains(P.STATE_CHECKED) or
                               hist_tab.getState().contains(P.STATE_SELECTED), 10),
              "Alt+3 shows History")
        d.key_combo(64, 10)    # Alt_L + 1
        pat_tab = d.find(role="page tab", name="Patients")
        check(harness.wait_for(lambda: pat_tab.getState().contains(P.STATE_CHECKED) or
                               pat_tab.getState().contains(P.STATE_SELECTED), 10),
              "Alt+1 shows Patients")

        # -- create a patient; the daemon's validation error lands on its field
        d.type_into(d.find(role="text", name="Patient reference"), REF)
        d.type_into(d.find(role="text", name="Display name"), "A.B.")
        d.type_into(d.find(role="text", name="Maximum force (N)"), "99")
        d.type_into(d.find(role="text", name=CALF + ": cap in newtons"), "6")
        d.click(d.find(role="push button", name="Save patient"))
        err = label_showing(d, "outside the clinic's range")
        check(err is not None, "the daemon's range error is shown (%s)" % (err.name if err else None))
        if err is not None:
            # the label right after the max-force entry in the form
            parent = err.parent
            idx = err.getIndexInParent()
            prev = parent.getChildAtIndex(idx - 1)
            check(prev is not None and prev.name == "Maximum force (N)",
                  "...next to the maximum force field (after %r)" % (prev.name if prev else None))
        check(not h.manager.Get(harness.IFACE + "Manager", "Profiles",
                                dbus_interface="org.freedesktop.DBus.Properties"),
              "a refused profile is not created")
        d.type_into(d.find(role="text", name="Maximum force (N)"), "8")
        d.click(d.find(role="push button", name="Save patient"))
        row = d.find(contains=REF + " — A.B.", role="list item")
        check(row is not None, "the new patient is in the list")
        d.screenshot("patients")

        # -- a clinic with many patients: the daemon searches and pages
        # (ListProfiles, 50 a page), the app makes proxies for shown rows only
        for i in range(120):
            h.create_profile(patient_ref="pg-%03d" % i, display_name="Pager %d" % i)
        # byte order: "P-7731" first, then pg-000...; the first page ends at pg-048
        check(d.find(role="label", contains="Showing 50 of 121 patients") is not None,
              "profiles created by another client: the list shows the first page of 50 of 121")
        check(d.find(role="list item", contains="pg-048 — Pager 48") is not None,
              "...whose last row is the 50th patient")
        check(not d.find_all(role="list item", contains="pg-049"),
              "...and the 51st is not loaded")
        check(d.find(role="list item", contains=REF + " — A.B.") is not None,
              "...the first row is the patient created first")
        d.screenshot("patients-paged")
        more = d.find(role="push button", name="Show more patients")
        check(more is not None, "a Show more patients button")
        if more is not None:
            d.click(more)
            check(d.find(role="label", contains="Showing 100 of 121 patients") is not None,
                  "Show more: 100 of 121")
            check(d.find(role="list item", contains="pg-098 — Pager 98") is not None and
                  not d.find_all(role="list item", contains="pg-099"),
                  "...rows up to the 100th")
            d.click(more)
            check(d.find(role="label", contains="121 patients") is not None and
                  d.find(role="list item", contains="pg-119 — Pager 119") is not None,
                  "Show more again: all 121")
            check(harness.wait_for(lambda: not d.find_all(role="push button",
                                                          name="Show more patients"), 10),
                  "...and no Show more button")
        search = [a for a in d.find_all(name="Search patients") if a.getRoleName() != "label"]
        check(bool(search), "the search entry")

        def search_for(text):
            for a in search:
                try:
                    a.queryEditableText().setTextContents(text)
                    time.sleep(0.3)
                    return
                except NotImplementedError:
                    continue
        if search:
            search_for("PG-04")
            check(d.find(role="label", name="10 patients") is not None,
                  "search PG-04: the daemon's ten matches (reference prefix, either case)")
            check(d.find(role="list item", contains="pg-049 — Pager 49") is not None and
                  d.find(role="list item", contains="pg-040 — Pager 40") is not None,
                  "...pg-040 to pg-049")
            check(not d.find_all(role="list item", contains="pg-050") and
                  not d.find_all(role="list item", contains="pg-119") and
                  not d.find_all(role="list item", contains=REF),
                  "...and no other row")
            search_for("pager 77")
            check(d.find(role="label", name="1 patient") is not None and
                  d.find(role="list item", contains="pg-077 — Pager 77") is not None,
                  "search 'pager 77': one patient, by display name")
            check(harness.wait_for(lambda: len(d.find_all(role="list item", contains="pg-")) == 1, 10),
                  "...one row only (%d)" % len(d.find_all(role="list item", contains="pg-")))
            search_for("nobody")
            check(d.find(role="label", contains="No patient matches") is not None,
                  "a search without matches says so")
            search_for("")
            check(d.find(role="label", contains="Showing 50 of 121 patients") is not None,
                  "the search cleared: the first page again")
        check(d.find(role="text", name="Patient reference") is not None and
              d.text_of(d.find(role="text", name="Patient reference")) == REF,
              "the form still shows the patient created through it")

        # -- treatment
        d.click(d.find(role="push button", name="Treat this patient"))
        regions = d.find(role="list", name="Body region")
        check(regions is not None and d.select_row(regions, CALF), "calf chosen in the region list")
        if sides:
            d.click(d.find(role="push button", name="No side (midline)"))
            check(d.find(role="label", contains="Choose the side: left or right") is not None,
                  "a lateral region without its side is not accepted by the form")
            check(not d.find(role="push button", name="Start session").getState().contains(
                d.pyatspi.STATE_SENSITIVE), "...and Start is not offered")
        d.click(d.find(role="push button", name="Left side" if sides else "No side (midline)"))
        cal = d.find(role="label", contains="Calibrated ")
        check(cal is not None and "valid until" in cal.name, "calibration state shown before starting")
        # an expired calibration is visible before starting, and refused at start
        inst = h.iface(SIM1, "Instrument")
        good = inst.GetCalibration()
        now = int(time.time() * 1e6)
        day = 86400 * 10 ** 6

        def write_cal(date, due):
            inst.WriteCalibration(dbus.Dictionary({
                "technician": "T1", "date": dbus.UInt64(date), "due": dbus.UInt64(due),
                "offset": good["offset"], "scale": good["scale"]}, signature="sv"))
        write_cal(now - 400 * day, now - 35 * day)
        expired = d.find(role="label", contains="CALIBRATION EXPIRED")
        check(expired is not None, "an expired calibration is shown before starting")
        d.screenshot("treatment-expired")
        write_cal(now - day, now + 300 * day)
        check(d.find(role="label", contains="Calibrated ") is not None, "a new calibration is shown")
        start = d.find(role="push button", name="Start session")
        # the treatment screen's own subtree: polled fast enough for short-lived states
        treat = start.parent.parent.parent.parent
        harness.wait_for(lambda: start.getState().contains(d.pyatspi.STATE_SENSITIVE), WAIT)
        # polkit says no to treat: a sentence, no session, the window stays usable
        h.set_allowed([a for a in harness.ACTIONS if not a.endswith(".treat")])
        d.click(start)
        denied = d.find(role="status bar", contains="not authorized")
        check(denied is not None, "polkit refusal shown (%s)" % (denied.name if denied else None))
        check(harness.plain(h.prop(SIM1, "Instrument", "ActiveSession")) == "/", "...and no session started")
        h.set_allowed(harness.ACTIONS)
        harness.wait_for(lambda: start.getState().contains(d.pyatspi.STATE_SENSITIVE), WAIT)
        d.click(start)
        st = label_showing(d, "Session running", role="status bar")
        check(st is not None, "session running")
        act = harness.plain(h.prop(SIM1, "Instrument", "ActiveSession"))
        check(act != "/", "the daemon runs a session on the instrument")
        if act != "/":
            check(harness.plain(h.prop(act, "Session", "Region")) == region_text,
                  "...on %s" % region_text)
        bad = unnamed_controls(d)
        check(not bad, "every control on the Treatment screen has an accessible name (%s)" % bad)

        dbg = h.iface(SIM1, "Debug")
        dbg.Play(dbus.Array([(3.0, 0.6, 0.6), (4.0, 0.6, 0.6)], signature="(ddd)"))
        check(d.find(role="list item", contains="#2 ") is not None, "strokes listed with their peak and cap")
        # passes per burst: a model without shear has one pass per burst
        for k in (1, 2):
            row = d.find(role="list item", contains="#%d  " % k)
            check(row is not None and ("burst %d · pass 1/1" % k) in row.name,
                  "stroke %d's row names its burst and pass (%s)" % (k, row.name if row else None))
        summary = d.find(role="label", contains="Bursts so far 2.")
        check(summary is not None and
              re.search(r"Last: Burst 2: 1 pass in 0\.[3-9]\d? s, peak [34]\.\d N", summary.name) is not None,
              "the bursts summary gives the last burst's passes, duration and peak (%s)" %
              (summary.name if summary else None))
        d.screenshot("treatment")

        # -- the alarm
        # over the cap for about 2 s: long enough for a screen reader to poll
        dbg.Play(dbus.Array([(9.0, 3.0, 2.5)], signature="(ddd)"))
        alarm = d.find(role="alert", contains="OVER THE LIMIT", root=treat)
        check(alarm is not None, "LimitExceeded puts the view in the alarm state (alert role)")
        d.screenshot("treatment-alarm")
        check(d.find(role="list item", contains="OVER") is not None, "the over-cap stroke is marked OVER")
        check(harness.wait_for(lambda: not d.find_all(role="alert", contains="OVER THE LIMIT", root=treat), WAIT),
              "the alarm clears when the force drops")

        # -- the tool's own alarm broken: a persistent banner
        dbg.BreakAlert(True)
        dbg.Play(dbus.Array([(9.0, 0.5, 1.0)], signature="(ddd)"))
        banner = d.find(role="alert", contains="own alarm failed")
        check(banner is not None, "AlertFailures > 0 shows the banner")
        dbg.BreakAlert(False)
        gone(d, "OVER THE LIMIT", role="alert")
        check(d.find(role="alert", contains="own alarm failed", timeout=2) is not None,
              "the banner stays after the alarm cleared")

        # -- unplugged mid-session
        dbg.Unplug()
        check(d.find(role="alert", contains="Instrument unplugged") is not None, "unplug: a clear paused state")
        d.screenshot("treatment-unplugged")
        dbg.Replug()
        check(gone(d, "Instrument unplugged", role="alert"), "replug: the paused state goes")

        # -- change region, then stop
        d.select_row(regions, NECK)
        d.click(d.find(role="push button", name="No side (midline)"))
        d.click(d.find(role="push button", name="Change region"))
        check(harness.wait_for(lambda: act != "/" and
                               harness.plain(h.prop(act, "Session", "Region")) == "neck", WAIT),
              "Change region moves the session to the neck")
        dbg.Play(dbus.Array([(2.0, 0.5, 0.5)], signature="(ddd)"))
        harness.wait_for(lambda: h.script_played(SIM1), WAIT)
        time.sleep(0.5)
        d.click(d.find(role="push button", name="Stop session"))
        check(harness.wait_for(lambda: harness.plain(h.prop(act, "Session", "State")) == "finished", WAIT),
              "Stop ends the session")

        # -- a second visit, started by another client: the app follows it
        prof = harness.plain(h.prop(harness.ROOT, "Manager", "Profiles"))[0]
        s2 = h.manager.StartSession(SIM1, dbus.ObjectPath(prof), region_text)
        check(d.find(role="status bar", contains="Session running") is not None,
              "a session started elsewhere on the instrument is shown")
        dbg.Play(dbus.Array([(5.0, 0.6, 0.5), (5.5, 0.6, 0.5)], signature="(ddd)"))
        harness.wait_for(lambda: h.script_played(SIM1), WAIT)
        time.sleep(0.5)
        h.iface(s2, "Session").Stop()

        # -- history and the report
        d.click(d.find(role="page tab", name="History"))
        visits = d.find(role="list", name="Visits (newest first)")
        check(visits is not None and harness.wait_for(lambda: visits.childCount >= 2, WAIT),
              "history lists both visits")
        rows = [visits.getChildAtIndex(i).name for i in range(visits.childCount)]
        check(harness.wait_for(lambda: any("calf" in (visits.getChildAtIndex(i).name or "") and
                                           "neck" in (visits.getChildAtIndex(i).name or "")
                                           for i in range(visits.childCount)), WAIT),
              "the first visit names both sites treated (%s)" % rows)
        check(d.select_row(visits, "5 strokes"), "the first visit opened")
        pdf = d.find(role="push button", name="Save PDF report")
        harness.wait_for(lambda: pdf.getState().contains(d.pyatspi.STATE_SENSITIVE), WAIT)
        check(d.find(role="image", contains="Peak force per visit") is not None, "trend plots shown")
        record = d.find(role="text", name="Session record")
        rec = d.text_of(record) if record is not None else ""
        check("Bursts (continuous contact) and their passes" in rec and
              re.search(r"Burst 1: 1 pass in [\d.]+ s, peak [\d.]+ N", rec) is not None,
              "the visit's record lists its bursts with their passes")
        check(re.search(r"#1 .* burst 1 · pass 1/1 .*peak", rec) is not None and
              re.search(r"#5 .* burst 5 · pass 1/1 .*peak", rec) is not None,
              "...and every stroke with its burst and pass")
        d.screenshot("history")
        d.click(pdf)
        saved = d.find(role="status bar", contains="Report saved")
        check(saved is not None, "report saved")
        path = saved.name.split("Report saved: ", 1)[1].strip() if saved else ""
        check(path.startswith(d.home) and os.path.isfile(path),
              "the PDF is in the user's folder (%s)" % path)
        files = [path] if os.path.isfile(path) else []
        if files:
            txt = subprocess.run(["pdftotext", "-layout", files[0], "-"],
                                 stdout=subprocess.PIPE, universal_newlines=True).stdout
            check(REF in txt, "the PDF names the patient reference")
            check(region_text in txt and "neck" in txt, "the PDF names every region treated")
            check("OVER THE CAP" in txt, "the PDF lists the violation")
            check("Burst 1: 1 pass in" in txt and "burst 1 · pass 1/1" in txt,
                  "the PDF gives passes per burst")
            check("Calibration: calibrated" in txt, "the PDF gives the calibration state")
            check("unplugged" in txt, "the PDF lists the unplug pause")
            check("why this cap: clinic absolute maximum" in txt, "the PDF gives the reasons for the caps")
            with open(os.path.join(clinic_env.SHOTS, "report.txt"), "w") as f:
                f.write(txt)

        # -- the daemon goes away and comes back
        h.kill_daemon()
        down = d.find(role="status bar", contains="not running")
        check(down is not None, "strigild killed: the window says the service is not running")
        d.screenshot("service-down")
        h.start_daemon()
        check(gone(d, "not running", role="status bar"), "strigild back: the banner goes")
        d.click(d.find(role="page tab", name="Patients"))
        check(d.find(contains=REF, role="list item") is not None,
              "...and the patient list is rebuilt from the daemon")
        check(d.app.poll() is None, "the app is still running")
        d.stop_app()
        d.app_log.flush()
        d.app_log.seek(0)
        log = d.app_log.read()
        bad = [l for l in log.splitlines() if "CRITICAL" in l or "Sanitizer" in l or "runtime error" in l
               or "-WARNING" in l and "dbind" not in l]
        check(not bad, "no GLib criticals, warnings or sanitizer reports from the app (%s)" % bad[:3])
    except Exception:
        import traceback
        traceback.print_exc()
        check(False, "the test ran to the end")
    finally:
        if d:
            if harness.failures:
                d.print_app_log()
            d.cleanup()
        h.cleanup()
    finish()


if __name__ == "__main__":
    main()
