#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Stands in for strigil-clinic in tests/demo/test-demo-clinic.py (the
demo's wiring is under test, not the app): takes the app's command line
(--address ADDR), checks what the app would find on that bus (strigild with
the demo's running session on SIM0001, strokes arriving) and writes what it
saw as JSON to $FAKE_CLINIC_OUT, then exits like a closed window."""
import json
import os
import sys
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

args = sys.argv[1:]
seen = {"argv": args}
try:
    address = args[args.index("--address") + 1]
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(address)
    strokes = []
    bus.add_signal_receiver(lambda rec: strokes.append(float(rec["peak_n"])), "StrokeCompleted",
                            "org.strigil.Strigil1.Session", "org.strigil.Strigil1")
    root = bus.get_object("org.strigil.Strigil1", "/org/strigil/Strigil1", introspect=False)
    active = root.Get("org.strigil.Strigil1.Manager", "ActiveSessions",
                      dbus_interface="org.freedesktop.DBus.Properties")
    seen["active"] = [str(p) for p in active]
    if active:
        s = bus.get_object("org.strigil.Strigil1", active[0], introspect=False).GetAll(
            "org.strigil.Strigil1.Session", dbus_interface="org.freedesktop.DBus.Properties")
        seen["instrument"] = str(s["Instrument"])
        seen["state"] = str(s["State"])
    ctx = GLib.MainContext.default()
    end = time.monotonic() + 60
    while not strokes and time.monotonic() < end:
        ctx.iteration(False)
        time.sleep(0.01)
    seen["strokes"] = strokes
except Exception as e:      # reported to the test, which fails on it
    seen["error"] = repr(e)
with open(os.environ["FAKE_CLINIC_OUT"], "w") as f:
    json.dump(seen, f)
