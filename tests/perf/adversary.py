#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The adversaries of make bench's adversarial row (tests/perf/bench.py),
each its own process, until SIGTERM; prints "calls=N errors=N busy=N".

  adversary.py history ADDRESS   one client reading the whole stored
                                 history again and again: ListSessions
                                 pages, every session's properties, and
                                 GetManagedObjects
  adversary.py lock DBPATH SECS  another process holds the database's
                                 write lock (BEGIN IMMEDIATE) for SECS
  adversary.py flood ADDRESS PATH  one connection flooding authorized calls
                                 (Instrument.GetCalibration, 32 in flight)
  adversary.py profiles ADDRESS  a clinician creating profiles one after
                                 another (writes of strigild's event loop,
                                 which meet the lock of case (b))
"""
import os
import signal
import sqlite3
import sys
import time

NAME = "org.strigil.Strigil1"
ROOT = "/org/strigil/Strigil1"
IFACE = "org.strigil.Strigil1."
stats = {"calls": 0, "errors": 0, "busy": 0}
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def history(address):
    import dbus
    bus = dbus.bus.BusConnection(address)
    mgr = dbus.Interface(bus.get_object(NAME, ROOT, introspect=False), IFACE + "Manager")
    while not stop:
        try:
            bus.get_object(NAME, ROOT, introspect=False).GetManagedObjects(
                dbus_interface="org.freedesktop.DBus.ObjectManager")
            offset, total = 0, 1
            while offset < total and not stop:
                page, total = mgr.ListSessions(dbus.UInt32(offset), dbus.UInt32(1000))
                stats["calls"] += 1
                for p in page:
                    if stop:
                        break
                    bus.get_object(NAME, p, introspect=False).GetAll(
                        IFACE + "Session", dbus_interface="org.freedesktop.DBus.Properties")
                    stats["calls"] += 1
                offset += len(page) or total
        except dbus.exceptions.DBusException:
            stats["errors"] += 1
            time.sleep(0.01)


def lock(db, secs):
    c = sqlite3.connect(db, isolation_level=None, timeout=30)
    c.execute("BEGIN IMMEDIATE")
    print("locked=1", flush=True)
    end = time.monotonic() + secs
    while not stop and time.monotonic() < end:
        time.sleep(0.05)
    c.execute("ROLLBACK")
    c.close()


def flood(address, path):
    import dbus
    import dbus.mainloop.glib
    from gi.repository import GLib
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(address)
    meth = bus.get_object(NAME, path, introspect=False).get_dbus_method(
        "GetCalibration", IFACE + "Instrument")
    inflight = [0]

    def ok(*_):
        inflight[0] -= 1
        stats["calls"] += 1

    def err(e):
        inflight[0] -= 1
        stats["busy" if e.get_dbus_name() == IFACE + "Error.Busy" else "errors"] += 1

    ctx = GLib.MainContext.default()
    while not stop:
        while inflight[0] < 32:
            inflight[0] += 1
            meth(reply_handler=ok, error_handler=err, timeout=60)
        ctx.iteration(True)


def profiles(address):
    import dbus
    bus = dbus.bus.BusConnection(address)
    mgr = dbus.Interface(bus.get_object(NAME, ROOT, introspect=False), IFACE + "Manager")
    n = 0
    while not stop:
        n += 1
        try:
            mgr.CreateProfile(dbus.Dictionary({"patient_ref": "adv-%d-%d" % (os.getpid(), n)},
                                              signature="sv"))
            stats["calls"] += 1
        except dbus.exceptions.DBusException:
            stats["errors"] += 1
            time.sleep(0.01)


if __name__ == "__main__":
    if sys.argv[1] == "history":
        history(sys.argv[2])
    elif sys.argv[1] == "lock":
        lock(sys.argv[2], float(sys.argv[3]))
    elif sys.argv[1] == "profiles":
        profiles(sys.argv[2])
    else:
        flood(sys.argv[2], sys.argv[3])
    print("calls=%d errors=%d busy=%d" % (stats["calls"], stats["errors"], stats["busy"]),
          flush=True)
