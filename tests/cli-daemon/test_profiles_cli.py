#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""strigilctl profile list with many patients (issue 16): against the real
strigild (API level 3) it pages Manager.ListProfiles (GetManagedObjects
names no profile any more): every live profile in patient-reference order,
--search (reference prefix or display-name substring, either case) and
--limit; bad options are refused before the bus with a sentence. Against a
daemon of API level 2 (the dbusmock template on the XML without its level-3
members) the same output comes from Manager.Profiles."""
import json
import os
import re
import sys

TOP = os.environ.get("SG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "tests", "cli-daemon"))
from harness import Harness, check, finish  # noqa: E402
import dbus  # noqa: E402
from test_cli import ctl  # noqa: E402
from level2mock import MockHarness  # noqa: E402

SPECIALS = {"x_y": "Under Score", "x1y": "Wild Card", "Zed-9": "Zoe M"}


def listed(h, *args):
    rc, out, err = ctl(h, "--json", "profile", "list", *args)
    check(rc == 0, "profile list %s succeeds (%d: %s)" % (" ".join(args), rc, err.strip()))
    return [p["PatientRef"] for p in json.loads(out)] if rc == 0 else None


def check_lists(h, live, where):
    check(listed(h) == live, "%s: profile list shows all %d live profiles by reference"
          % (where, len(live)))
    rc, out, err = ctl(h, "profile", "list")
    rows = [line.split()[1] for line in out.splitlines()[1:] if line and line[0].isdigit()]
    check(rc == 0 and rows == live, "%s: the text list too (%d rows)" % (where, len(rows)))
    want = ["p%03d" % i for i in range(10, 20) if "p%03d" % i in live]
    check(listed(h, "--search", "P01") == want,
          "%s: --search P01: the references starting with p01, either case" % where)
    check(listed(h, "--search", "atient 42") == ["p042"],
          "%s: --search matches a display-name substring" % where)
    check(listed(h, "--search", "x_y") == ["x_y"], "%s: '_' is not a wildcard" % where)
    check(listed(h, "--limit", "5") == live[:5], "%s: --limit 5: the first five" % where)
    check(listed(h, "--search", "patient", "--limit", "150") ==
          [r for r in live if r.startswith("p")][:150],
          "%s: --search with a --limit above the page size" % where)
    rc, out, err = ctl(h, "profile", "list", "--limit", "3")
    check(rc == 0 and re.search(r"\(3 of %d shown; raise --limit" % len(live), out),
          "%s: the text list says how many are not shown:\n%s" % (where, out[-200:]))
    rc, out, err = ctl(h, "profile", "list", "--search", "nobody-here")
    check(rc == 0 and "no profile matches 'nobody-here'" in out,
          "%s: an empty search says so" % where)
    for args, what in [(["--limit", "0"], "--limit 0"), (["--limit", "x"], "--limit x"),
                       (["--search", "x" * 128], "a 128-byte --search"),
                       (["--search", "a\tb"], "a --search with a tab"),
                       (["--search", "p0", "--max-force", "5"], "a field with list")]:
        rc, out, err = ctl(h, "profile", "list", *args)
        check(rc == 2 and err.startswith("strigilctl:") and "D-Bus" not in err and
              "org.strigil" not in err, "%s: %s refused with a sentence (%d: %s)"
              % (where, what, rc, err.strip()))
    rc, out, err = ctl(h, "profile", "show", "p001", "--search", "p")
    check(rc == 2 and "--search and --limit go with 'profile list'" in err,
          "%s: --search outside list refused (%s)" % (where, err.strip()))


# ---- the real daemon ------------------------------------------------------

h = Harness(simulate=1)
try:
    h.start_daemon()
    refs = {"p%03d" % i: "Patient %d" % i for i in range(160)}
    refs.update(SPECIALS)
    for ref, name in sorted(refs.items(), key=lambda kv: kv[1]):   # not in ref order
        d = dbus.Dictionary({"patient_ref": ref, "display_name": name}, signature="sv")
        h.manager.CreateProfile(d)
    for ref in ("p003",):
        rc, out, err = ctl(h, "profile", "delete", ref)
        check(rc == 0, "profile delete %s" % ref)
        del refs[ref]
    live = sorted(refs, key=lambda r: r.encode())
    check(int(h.prop("/org/strigil/Strigil1", "Manager", "APIVersion")) >= 3,
          "the daemon is of API level 3 or later")
    check_lists(h, live, "strigild")
finally:
    h.cleanup()


# ---- a daemon of API level 2: Manager.Profiles ----------------------------

m = MockHarness()
try:
    check(int(m.prop("/org/strigil/Strigil1", "Manager", "APIVersion")) == 2,
          "the mock daemon is of API level 2")
    refs = {"p%03d" % i: "Patient %d" % i for i in range(60)}
    refs.update(SPECIALS)
    for ref, name in sorted(refs.items(), key=lambda kv: kv[1]):
        m.manager.CreateProfile(dbus.Dictionary({"patient_ref": ref, "display_name": name},
                                                signature="sv"))
    for ref in ("p003",):
        rc, out, err = ctl(m, "profile", "delete", ref)
        check(rc == 0, "level 2: profile delete %s (%d: %s)" % (ref, rc, err.strip()))
        del refs[ref]
    check_lists(m, sorted(refs, key=lambda r: r.encode()), "level-2 daemon")
finally:
    m.cleanup()
finish()
