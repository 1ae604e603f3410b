#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A clinic's history: more stored sessions than strigild keeps in memory
(it keeps the sessions in progress and the 32 most recently used ended
ones; the others are loaded from the database when named). Every stored
session stays reachable with the same properties, through its path, in
Manager.Sessions and in GetManagedObjects, before and after a restart; a
path that names no stored session, or names one in a non-canonical way,
is an unknown object."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

N = 45  # more than the daemon's cache of ended sessions (32)
OM = "org.freedesktop.DBus.ObjectManager"
UNKNOWN = "org.freedesktop.DBus.Error.UnknownObject"

h = Harness(simulate=1)
try:
    h.start_daemon()
    pid = h.create_profile(patient_ref="history-1", max_force_n=dbus.Double(6.0))
    paths, first = [], None
    for i in range(N):
        s = str(h.manager.StartSession(SIM1, pid, "upper_back"))
        if i == 0:
            # one stroke and one violation, so the first session has rows
            h.iface(SIM1, "Debug").Play(dbus.Array([(9.0, 0.4, 0.1)], signature="(ddd)"))
            check(wait_for(lambda: len(h.signals_of("StrokeCompleted", s)) >= 1),
                  "the first session records a stroke")
        h.iface(s, "Session").Stop()
        if i == 0:
            first = plain(h.props(s, "Session"))
        paths.append(s)
    check(len(set(paths)) == N, "%d distinct sessions" % N)

    def listed():
        return [str(p) for p in h.prop(ROOT, "Manager", "Sessions")]

    def check_history(when):
        check(listed() == paths, "%s: Manager.Sessions lists all %d, oldest first" % (when, N))
        again = plain(h.props(paths[0], "Session"))
        check(again == first, "%s: the first session (no longer in memory) has the same "
              "properties (%s)" % (when, sorted(k for k in first if first[k] != again.get(k))))
        strokes = h.iface(paths[0], "Session").GetStrokes()
        viol = [plain(v)["kind"] for v in h.iface(paths[0], "Session").GetViolations()]
        check(len(strokes) == 1 and "exceeded" in viol,
              "%s: its stroke and violation are read back (%d, %s)" % (when, len(strokes), viol))
        objs = h.obj(ROOT).GetManagedObjects(dbus_interface=OM)
        sess = {str(p): plain(v[IFACE + "Session"]) for p, v in objs.items()
                if IFACE + "Session" in v}
        check(sorted(sess) == sorted(paths), "%s: GetManagedObjects has all %d sessions (%d)"
              % (when, N, len(sess)))
        check(all(sess[p]["Id"] == int(p.rsplit("/", 1)[1]) for p in sess),
              "%s: each with its own Id" % when)
        check(all(sess[p]["State"] == "finished" for p in sess),
              "%s: each finished" % when)
        base = paths[0].rsplit("/", 1)[0]
        last = int(paths[-1].rsplit("/", 1)[1])
        for bad in ("0", "0%d" % last, str(last + 1000), "x1"):
            expect_error(lambda: h.props(base + "/" + bad, "Session"), UNKNOWN,
                         "%s: session path %s/%s" % (when, base, bad))

    check_history("running daemon")
    h.stop_daemon()
    h.start_daemon()
    check_history("after a restart")
    h.stop_daemon()
finally:
    h.cleanup()
finish()
