#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""--load-command for `strigilctl calibrate` against a simulated instrument:
puts a known static load on it through org.strigil.Strigil1.Debug.Play.

The simulator has no static load, only raised-cosine pulses. A train of
pulses of peak P, contact 10 ms and gap 0.5 ms is periodic with 11 samples
at 1 kHz (0, P*(1-cos(2*pi*k/10))/2 for k = 0..9, then 0), whose sum is
exactly 5*P. Any window of a whole number of periods (--seconds 1.1 = 100
periods) therefore averages exactly 5*P/11, wherever it starts: a static
load of L newtons is a train with P = 2.2*L. The train lasts 255 pulses
(2.8 s of samples); every step (the zero too) first waits until the
simulator has played out the previous train (Debug.PendingStrokes == 0,
counted in samples, not guessed from the wall clock: a loaded machine or a
stalled simulator must not let a train spill into the next reading).
Trains play only while the instrument streams: the test holds a claim of
its own so that a train left over from one run plays out between runs.

Environment (from strigilctl): STRIGIL_STEP, STRIGIL_LOAD_N,
STRIGIL_INSTRUMENT_PATH. Ours: SIMLOAD_ADDRESS (the bus), SIMLOAD_SCALE
(applied load factor per step "point:1000=1.1" style, to make a nonlinear
instrument), SIMLOAD_HANG (a STRIGIL_LOAD_G at which to write
SIMLOAD_HANG_FILE and sleep: for the interruption test).
"""
import os
import sys
import time

import dbus

PULSES = 255
CONTACT_S = 0.010
GAP_S = 0.0005
WAIT_S = 120

load_g = float(os.environ["STRIGIL_LOAD_G"])
load_n = float(os.environ["STRIGIL_LOAD_N"])

hang = os.environ.get("SIMLOAD_HANG")
if hang and abs(float(hang) - load_g) < 1e-6:
    with open(os.environ["SIMLOAD_HANG_FILE"], "w") as f:
        f.write("%d\n" % os.getpid())
    time.sleep(120)
    sys.exit(1)

for item in os.environ.get("SIMLOAD_SCALE", "").split():
    g, factor = item.split("=")
    if abs(float(g) - load_g) < 1e-6:
        load_n *= float(factor)

bus = dbus.bus.BusConnection(os.environ["SIMLOAD_ADDRESS"])
inst = bus.get_object("org.strigil.Strigil1", os.environ["STRIGIL_INSTRUMENT_PATH"],
                      introspect=False)
debug = dbus.Interface(inst, "org.strigil.Strigil1.Debug")

# Wait until the previous train has played out (a generous bound on a
# wait for something that must happen, not a timing check).
deadline = time.monotonic() + WAIT_S
while inst.Get("org.strigil.Strigil1.Debug", "PendingStrokes",
               dbus_interface="org.freedesktop.DBus.Properties") != 0:
    if time.monotonic() > deadline:
        sys.stderr.write("sim-load: the previous train never played out\n")
        sys.exit(1)
    time.sleep(0.02)

if load_n > 0:
    peak = 2.2 * load_n
    debug.Play(dbus.Array([dbus.Struct((peak, CONTACT_S, GAP_S), signature="ddd")] * PULSES,
                          signature="(ddd)"))
sys.exit(0)
