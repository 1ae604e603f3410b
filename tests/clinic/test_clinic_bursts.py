#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""strigil-clinic shows passes per burst: the real app under Xvfb, driven
through AT-SPI, against the real strigild with an instrument that has shear
channels (the IIO backend on a fake sysfs tree, tests/integration/
fake_iio_shear.py). The tool is swept back and forth twice, three passes
each time without lifting, with a rest between: strigild splits each burst
at its two turnarounds. The Treatment screen must list every stroke with its
burst and pass ("burst 2 · pass 2/3"; the pass count starts again with
each burst), and the bursts summary the last burst's passes, duration and
peak; the History screen's record of the visit lists both bursts with their
passes and every stroke's pass. A screenshot of the treatment screen goes
to build/clinic-shots/treatment-bursts.png.
"""
import os
import re
import sys

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clinic_env  # noqa: E402
from clinic_env import harness  # noqa: E402
from harness import check, finish  # noqa: E402
from fake_iio_shear import (INST, PASS_S, PEAKS, Writer, attr, burst,  # noqa: E402
                            make_tree)

REF = "P-BURST"
WAIT = 30


def main():
    h = harness.Harness(simulate=0)
    d = None
    try:
        sys_root, dev_root, sysd = make_tree(h.tmp)
        h.start_daemon(extra=["--iio-root", sys_root + ":" + dev_root])
        check(harness.plain(h.prop(INST, "Instrument", "StrokeRule")) == "reversal",
              "the shear instrument splits strokes at reversals")
        d = clinic_env.Desktop(h)
        d.start_app()
        # the patient, created through the form (the app then has them
        # chosen); a cap above the passes' peaks: this test is about passes
        d.type_into(d.find(role="text", name="Patient reference"), REF)
        d.type_into(d.find(role="text", name="Maximum force (N)"), "12")
        d.click(d.find(role="push button", name="Save patient"))
        check(d.find(role="list item", contains=REF) is not None, "the patient is created")
        prof = h.manager.FindProfile(REF)
        d.click(d.find(role="push button", name="Treat this patient"))
        check(d.find(role="list item", contains="IIOSHEAR") is not None, "the shear instrument is listed")
        # started by another client: the app follows the instrument's session
        spath = h.manager.StartSession(INST, prof, "upper_back")
        check(d.find(role="status bar", contains="Session running") is not None, "session running")
        check(harness.wait_for(lambda: attr(sysd, "buffer/enable").strip() == b"1", WAIT),
              "the session enables the buffer")
        w = Writer(os.path.join(dev_root, "iio:device0"))
        rest = (lambda t: (0.0, 0.0, 0.0))
        w.play(rest, 0.5)
        w.play(burst, 3 * PASS_S + 0.6)
        w.play(rest, 0.5)
        w.play(burst, 3 * PASS_S + 0.6)
        w.play(rest, 0.5)

        for k in range(1, 7):
            b, p = (k - 1) // 3 + 1, (k - 1) % 3 + 1
            want = "burst %d · pass %d/3" % (b, p)
            row = d.find(role="list item", contains="#%d  " % k)
            ok = row is not None and harness.wait_for(lambda: want in (row.name or ""), WAIT)
            check(ok, "stroke %d's row says %s (%s)" % (k, want, row.name if row else None))
            if row is not None:
                # peaks 8, 4, 8 N: each pass has its own
                check(re.search(r"peak %d\.\d N" % PEAKS[p - 1] if PEAKS[p - 1] < 5 else
                                r"peak [78]\.\d N", row.name) is not None,
                      "...with the pass's own peak (%s)" % row.name)
        summary = d.find(role="label", contains="Bursts so far 2.")
        check(summary is not None and
              re.search(r"Last: Burst 2: 3 passes in 1\.[6-9] s, peak [78]\.\d N", summary.name) is not None,
              "the bursts summary gives the last burst's passes, duration and peak (%s)" %
              (summary.name if summary else None))
        d.screenshot("treatment-bursts")
        h.iface(spath, "Session").Stop()
        w.close()

        d.click(d.find(role="page tab", name="History"))
        visits = d.find(role="list", name="Visits (newest first)")
        check(visits is not None and harness.wait_for(lambda: visits.childCount >= 1, WAIT), "the visit is listed")
        check(d.select_row(visits, "6 strokes"), "the visit with six strokes opened")
        record = d.find(role="text", name="Session record")
        rec = ""
        if record is not None:
            harness.wait_for(lambda: "Bursts (continuous" in d.text_of(record), WAIT)
            rec = d.text_of(record)
        check(re.search(r"Burst 1: 3 passes in [\d.]+ s, peak [\d.]+ N", rec) is not None and
              re.search(r"Burst 2: 3 passes in [\d.]+ s, peak [\d.]+ N", rec) is not None,
              "the record lists both bursts with three passes each")
        check(all(re.search(r"#%d .* burst %d · pass %d/3 .*peak" % (k, (k - 1) // 3 + 1, (k - 1) % 3 + 1), rec)
                  for k in range(1, 7)), "...and every stroke with its burst and pass")
        d.screenshot("history-bursts")

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
