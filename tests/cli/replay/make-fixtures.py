#!/usr/bin/python3
# Regenerates the replay fixtures and their ground truth (committed; run by
# hand only when a scenario changes). Deterministic: fixed seeds.
#
# Each scenario folder holds trace.csv and truth.json: the strokes the
# trace was built from (half-sine force pulses), start/end/peak in s and N.
import json
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, rate, duration, strokes, noise=0.0, hum=0.0, extra=False,
          crlf=False, order=None, seed=1):
    rnd = random.Random(seed)
    cols = ["t_s", "force_n"] + (["shear_x_n", "shear_y_n", "tilt_deg"] if extra else [])
    order = order or cols
    eol = "\r\n" if crlf else "\n"
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    lines = [",".join(order)]
    n = int(round(duration * rate))
    for i in range(n):
        t = i / rate
        f = 0.0
        for (a, b, p) in strokes:
            if a <= t <= b:
                f += p * math.sin(math.pi * (t - a) / (b - a))
        clean = f
        f += rnd.gauss(0, noise) + hum * math.sin(2 * math.pi * 50 * t)
        v = {"t_s": t, "force_n": f}
        if extra:
            # shear follows the pressure at 30 degrees, tilt near 20 deg
            v["shear_x_n"] = 0.3 * clean * math.cos(math.radians(30)) + rnd.gauss(0, noise)
            v["shear_y_n"] = 0.3 * clean * math.sin(math.radians(30)) + rnd.gauss(0, noise)
            v["tilt_deg"] = 20 + (2 if clean > 0 else 0) + rnd.gauss(0, 0.1)
        lines.append(",".join("%.6f" % v[c] for c in order))
    with open(os.path.join(d, "trace.csv"), "w", newline="") as fh:
        fh.write(eol.join(lines) + eol)
    truth = {"rate_hz": rate, "strokes": [
        {"start_s": a, "end_s": b, "peak_n": p} for (a, b, p) in strokes]}
    with open(os.path.join(d, "truth.json"), "w") as fh:
        json.dump(truth, fh, indent=1)
        fh.write("\n")


# three clean strokes, 5, 8 and 12 N, 0.8 s each, at 500 Hz
write("clean", 500, 7.0, [(1.0, 1.8, 5.0), (2.8, 3.6, 8.0), (4.6, 5.4, 12.0)])
# four strokes at 0.8 Hz on an S4 trace with noise and mains hum, CRLF,
# columns in another order
write("noisy-s4", 1000, 6.5,
      [(1.0, 1.6, 3.0), (2.25, 2.85, 6.0), (3.5, 4.1, 9.0), (4.75, 5.35, 13.0)],
      noise=0.05, hum=0.1, extra=True, crlf=True,
      order=["tilt_deg", "force_n", "shear_y_n", "t_s", "shear_x_n"], seed=7)
