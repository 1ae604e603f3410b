#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""strigil-clinic's Patients screen against a strigild of API level 2 (the
dbusmock template on the XML without its level-3 members: no
Manager.ListProfiles): the list falls back to Manager.Profiles, every
patient at once, and typing filters it in the app (reference or display
name, either case); no Show more button. Driven through AT-SPI under Xvfb
like test_clinic.py."""
import os
import sys

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clinic_env  # noqa: E402
from clinic_env import harness  # noqa: E402
from harness import check, finish  # noqa: E402
from level2mock import MockHarness  # noqa: E402


def main():
    m = MockHarness()
    d = None
    try:
        check(int(m.prop("/org/strigil/Strigil1", "Manager", "APIVersion")) == 2,
              "the daemon is of API level 2")
        for i in range(60):
            m.manager.CreateProfile(dbus.Dictionary({"patient_ref": "lv-%03d" % i,
                                                     "display_name": "Older %d" % i},
                                                    signature="sv"))
        d = clinic_env.Desktop(m)
        d.start_app()
        check(d.find(role="label", name="60 patients") is not None,
              "every patient is listed from Manager.Profiles (60)")
        check(d.find(role="list item", contains="lv-059 — Older 59") is not None,
              "...the 60th too: no paging")
        check(not d.find_all(role="push button", name="Show more patients"),
              "no Show more patients button")
        search = [a for a in d.find_all(name="Search patients") if a.getRoleName() != "label"]
        check(bool(search), "the search entry")
        for a in search:
            try:
                a.queryEditableText().setTextContents("LV-04")
                break
            except NotImplementedError:
                continue
        check(d.find(role="label", name="10 of 60 patients match “LV-04”") is not None,
              "typing LV-04 filters in the app (either case): 10 of 60 match")
        m.manager.CreateProfile(dbus.Dictionary({"patient_ref": "lv-048x",
                                                 "display_name": "Late"}, signature="sv"))
        check(d.find(role="list item", contains="lv-048x — Late") is not None and
              d.find(role="label", name="11 of 61 patients match “LV-04”") is not None,
              "a profile created by another client appears (Manager.Profiles), filtered too")
        search[0].queryEditableText().setTextContents("")
        check(d.find(role="label", name="61 patients") is not None, "the search cleared: 61")
        d.stop_app()
        d.app_log.flush()
        d.app_log.seek(0)
        bad = [l for l in d.app_log.read().splitlines() if "CRITICAL" in l or "Sanitizer" in l
               or "runtime error" in l or "-WARNING" in l and "dbind" not in l]
        check(not bad, "no GLib criticals, warnings or sanitizer reports (%s)" % bad[:3])
    except Exception:
        import traceback
        traceback.print_exc()
        check(False, "the test ran to the end")
    finally:
        if d:
            if harness.failures:
                d.print_app_log()
            d.cleanup()
        m.cleanup()
    finish()


if __name__ == "__main__":
    main()
