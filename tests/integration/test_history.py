#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A clinic's history: more stored sessions and patient profiles than
strigild keeps in memory (it keeps the sessions in progress and the 32 most
recently used ended sessions and profiles; the others are loaded from the
database when named). Every stored session and live profile stays
reachable with the same properties, through its path, in the pages of
Manager.ListSessions / in Manager.Profiles, before and after a restart
(GetManagedObjects and Manager.Sessions name only the sessions in
progress, and no profile: issue 16);
a profile no longer in memory can start a session; a path that names
nothing stored (or a deleted profile), or names it in a non-canonical way,
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
        # pages of 7, newest first
        out, offset, total = [], 0, None
        while total is None or offset < total:
            page, total = h.manager.ListSessions(dbus.UInt32(offset), dbus.UInt32(7))
            if not page:
                break
            out += [str(p) for p in page]
            offset += len(page)
        return out[::-1]

    def check_history(when):
        check(listed() == paths, "%s: Manager.ListSessions pages list all %d, newest first"
              % (when, N))
        check(plain(h.prop(ROOT, "Manager", "Sessions")) == [],
              "%s: Manager.Sessions lists only sessions in progress (none)" % when)
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
        check(sess == {}, "%s: GetManagedObjects has only the sessions in progress (%d)"
              % (when, len(sess)))
        sess = {p: plain(h.props(p, "Session")) for p in paths}
        check(all(sess[p]["Id"] == int(p.rsplit("/", 1)[1]) for p in sess),
              "%s: each with its own Id" % when)
        check(all(sess[p]["State"] == "finished" for p in sess),
              "%s: each finished" % when)
        base = paths[0].rsplit("/", 1)[0]
        last = int(paths[-1].rsplit("/", 1)[1])
        for bad in ("0", "0%d" % last, str(last + 1000), "x1"):
            expect_error(lambda: h.props(base + "/" + bad, "Session"), UNKNOWN,
                         "%s: session path %s/%s" % (when, base, bad))

    # profiles: the first one above, plus N more
    profiles = [str(pid)]
    first_prof = plain(h.props(pid, "Profile"))
    for i in range(N):
        profiles.append(str(h.create_profile(patient_ref="history-p%d" % i,
                                              max_force_n=dbus.Double(5.0 + i % 5))))
    gone = profiles.pop()
    h.iface(gone, "Profile").Delete()

    def check_profiles(when):
        listed_p = [str(p) for p in h.prop(ROOT, "Manager", "Profiles")]
        check(listed_p == profiles, "%s: Manager.Profiles lists the %d live profiles, oldest "
              "first (%d)" % (when, len(profiles), len(listed_p)))
        check(plain(h.props(profiles[0], "Profile")) == first_prof,
              "%s: the first profile (no longer in memory) has the same properties" % when)
        objs = h.obj(ROOT).GetManagedObjects(dbus_interface=OM)
        check(not [p for p, v in objs.items() if IFACE + "Profile" in v],
              "%s: GetManagedObjects names no profile (API level 3)" % when)
        prof = {p: plain(h.props(p, "Profile")) for p in profiles}
        check(all(prof[p]["PatientRef"] == ("history-1" if p == profiles[0] else
                                             "history-p%d" % (profiles.index(p) - 1))
                  for p in prof), "%s: each with its own patient reference" % when)
        expect_error(lambda: h.props(gone, "Profile"), UNKNOWN,
                     "%s: the deleted profile %s" % (when, gone))
        base = profiles[0].rsplit("/", 1)[0]
        expect_error(lambda: h.props(base + "/0" + profiles[0].rsplit("/", 1)[1], "Profile"),
                     UNKNOWN, "%s: a non-canonical profile path" % when)
        s = h.manager.StartSession(SIM1, dbus.ObjectPath(profiles[0]), "upper_back")
        check(plain(h.prop(s, "Session", "Profile")) == profiles[0],
              "%s: the first profile starts a session" % when)
        h.iface(s, "Session").Stop()
        paths.append(str(s))

    check_history("running daemon")
    check_profiles("running daemon")
    h.stop_daemon()
    h.start_daemon()
    check_history("after a restart")
    check_profiles("after a restart")
    h.stop_daemon()
finally:
    h.cleanup()
finish()
