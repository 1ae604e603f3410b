#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Patients paged (API level 3, issue 16): Manager.ListProfiles(query,
offset, limit) pages the live profiles from SQLite in patient-reference
order; a query matches a reference prefix or a display-name substring
(ASCII case ignored; '%' and '_' are plain characters); deleted profiles
are never listed; bad arguments get InvalidArgument and change nothing;
it needs the monitor action. GetManagedObjects names no profile (a clinic
has thousands), yet every profile stays readable by its path. The same
pages after a restart (they come from the database, not from memory)."""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

OM = "org.freedesktop.DBus.ObjectManager"
INVALID = ERR + "InvalidArgument"
U = dbus.UInt32


def page(query, offset, limit):
    paths, total = h.manager.ListProfiles(query, U(offset), U(limit))
    return [str(p) for p in paths], int(total)


def refs(paths):
    return [str(h.prop(p, "Profile", "PatientRef")) for p in paths]


def all_pages(query, limit):
    """Every page of query, limit at a time: (paths, the totals seen)."""
    out, totals, offset = [], set(), 0
    while True:
        got, total = page(query, offset, limit)
        totals.add(total)
        if not got:
            break
        check(len(got) <= limit, "a page of %r has at most %d (%d)" % (query, limit, len(got)))
        out += got
        offset += len(got)
    return out, totals


h = Harness(simulate=1)
try:
    h.start_daemon()
    # 120 patients created in a random order (the list is by reference,
    # not by id), and a few whose names test the matching rules
    specials = {"x_y": "Under Score", "x1y": "Wild Card", "pct": "100% sure",
                "Zed-9": "Zoë Müller", "a.b": "back\\slash"}
    plan = [("p%03d" % i, "Patient %d" % i) for i in range(120)] + list(specials.items())
    random.Random(16).shuffle(plan)
    by_ref = {}
    for ref, name in plan:
        by_ref[ref] = str(h.create_profile(patient_ref=ref, display_name=name))
    # deleted profiles are never listed; a deleted reference used again is
    # listed once, as the new profile
    for ref in ("p007", "p100", "x1y"):
        h.iface(by_ref.pop(ref), "Profile").Delete()
    by_ref["p100"] = str(h.create_profile(patient_ref="p100", display_name="Patient again"))
    live = sorted(by_ref, key=lambda r: r.encode())

    def check_pages(when):
        for limit in (1, 7, 50, 1000):
            got, totals = all_pages("", limit)
            check(refs(got) == live, "%s: pages of %d list the %d live profiles by reference "
                  "(byte order), deleted ones excluded" % (when, limit, len(live)))
            check(totals == {len(live)}, "%s: total is %d on every page (%s)"
                  % (when, len(live), totals))
        check(page("", len(live), 5) == ([], len(live)),
              "%s: an offset at the end gives an empty page and the total" % when)
        check(page("", 0xFFFFFFFF, 1000) == ([], len(live)),
              "%s: the largest offset gives an empty page" % when)
        got, total = page("", 3, 4)
        check(refs(got) == live[3:7] and total == len(live),
              "%s: offset 3 limit 4 is the 4th to 7th reference (%s)" % (when, refs(got)))
        check(got == [by_ref[r] for r in live[3:7]], "%s: each path is that profile's" % when)

        cases = [
            ("p01", ["p%03d" % i for i in range(10, 20)], "a reference prefix"),
            ("P01", ["p%03d" % i for i in range(10, 20)], "the prefix in upper case"),
            ("q0", [], "not a prefix of any reference, in no name"),
            ("atient 42", ["p042"], "a display-name substring"),
            ("PATIENT 11", ["p011"] + ["p%03d" % i for i in range(110, 120)],
             "a display-name substring in upper case"),
            ("patient again", ["p100"], "the new profile of a deleted reference"),
            ("x_y", ["x_y"], "'_' is an ordinary character (x1y is deleted, x_y not a wildcard)"),
            ("_", [], "'_' alone: no reference starts with it, no name has it"),
            ("%", ["pct"], "'%' matches only the name with '%'"),
            ("\\", ["a.b"], "'\\' is an ordinary character"),
            ("zoë", ["Zed-9"], "a UTF-8 name, lower-case ASCII"),
            ("Zed-9", ["Zed-9"], "the exact reference"),
        ]
        for q, want, what in cases:
            want = sorted(want, key=lambda r: r.encode())
            got, total = page(q, 0, 1000)
            check(refs(got) == want and total == len(want),
                  "%s: query %r: %s (%s, total %d)" % (when, q, what, refs(got), total))
        got, totals = all_pages("patient", 3)
        want = [r for r in live if r.startswith("p") and r != "pct"]
        check(refs(got) == want and totals == {len(want)},
              "%s: a query paged 3 at a time: all %d, one total" % (when, len(want)))

        objs = h.obj(ROOT).GetManagedObjects(dbus_interface=OM)
        check(not [p for p, v in objs.items() if IFACE + "Profile" in v],
              "%s: GetManagedObjects names no profile (%d objects)" % (when, len(objs)))
        check(str(SIM1) in [str(p) for p in objs],
              "%s: it still names the instrument" % when)
        check(str(h.prop(by_ref["p042"], "Profile", "DisplayName")) == "Patient 42",
              "%s: a profile not in GetManagedObjects is read by its path" % when)
        check(sorted(refs(plain(h.prop(ROOT, "Manager", "Profiles")))) == sorted(live),
              "%s: Manager.Profiles (deprecated, level 1) still lists every live profile"
              % when)

    check_pages("running daemon")

    # bad arguments: typed errors, nothing changed
    before = page("", 0, 1000)
    for args, what in [
            (("", 0, 0), "limit 0"),
            (("", 0, 1001), "limit 1001"),
            (("", 0, 0xFFFFFFFF), "the largest limit"),
            (("x" * 128, 0, 10), "a 128-byte query"),
            (("é" * 64, 0, 10), "a 64-character query of 128 bytes"),
            (("p0\n", 0, 10), "a query with a newline"),
            (("p\x7f", 0, 10), "a query with DEL")]:
        e = expect_error(lambda: h.manager.ListProfiles(args[0], U(args[1]), U(args[2])),
                         INVALID, "ListProfiles with " + what)
        if e is not None and "limit" in what:
            check("1 to 1000" in e.get_dbus_message(), "the sentence says the range (%s)"
                  % e.get_dbus_message())
    check(page("x" * 127, 0, 10) == ([], 0), "a 127-byte query is accepted (no match)")
    check(page("", 0, 1000) == before, "the refused calls changed nothing")

    # needs monitor
    h.set_allowed([a for a in ACTIONS if not a.endswith(".monitor")])
    expect_error(lambda: page("", 0, 10), ERR + "AccessDenied", "ListProfiles without monitor")
    h.set_allowed(ACTIONS)

    h.stop_daemon()
    h.start_daemon()
    check_pages("after a restart")
finally:
    h.cleanup()
finish()
