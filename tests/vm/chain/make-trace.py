#!/usr/bin/python3
# make-trace.py OUT.csv: the scripted trace the emulated instrument plays in
# the chain test (it loops): every 4 s, a 3 N stroke and a 6 N stroke, each a
# 0.6 s raised-cosine press, at 1 kHz. With the neck's 4 N cap the first is
# a clean stroke and the second a sustained violation.
import math
import sys

RATE = 1000
PERIOD = 4.0
STROKES = [(0.5, 3.0), (2.5, 6.0)]     # (start s, peak N)
WIDTH = 0.6

with open(sys.argv[1], "w") as f:
    f.write("# chain test trace: 3 N and 6 N strokes every %g s\nt_s,force_n\n" % PERIOD)
    for i in range(int(PERIOD * RATE)):
        t = i / RATE
        force = 0.0
        for start, peak in STROKES:
            if start <= t < start + WIDTH:
                force = peak * 0.5 * (1 - math.cos(2 * math.pi * (t - start) / WIDTH))
        f.write("%.3f,%.4f\n" % (t, force))
