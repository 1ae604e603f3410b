# SPDX-License-Identifier: LGPL-2.1-or-later
"""Which live view `make demo` shows (daemon/demo.py), apart from the demo's
processes so that tests/demo can check every branch without a display.

The richest view this place can show wins: the desktop app strigil-clinic
when there is a display (DISPLAY or WAYLAND_DISPLAY) and the app is built,
else `strigilctl monitor` in a terminal, else event lines on stdout (a pipe,
a log)."""
import os

CLINIC = "clinic"
MONITOR = "monitor"
EVENTS = "events"


def choose(env, clinic, ctl, isatty, access=os.access):
    """CLINIC, MONITOR or EVENTS for this environment (a dict like
    os.environ), the app and strigilctl paths and whether stdout is a tty."""
    if (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")) and clinic and access(clinic, os.X_OK):
        return CLINIC
    if ctl and access(ctl, os.X_OK) and isatty:
        return MONITOR
    return EVENTS


def command(view, address, clinic, ctl, serial="SIM0001"):
    """The argv that shows `view` for the daemon on the bus at `address`
    (None for EVENTS: the demo prints them itself)."""
    if view == CLINIC:
        return [clinic, "--address", address]
    if view == MONITOR:
        return [ctl, "--address", address, "monitor", serial]
    return None
