#!/usr/bin/python3
# Pretty-prints `strigilctl replay` JSON Lines for the interim demo
# (tools/strigilctl/demo.mk): one line per stroke, alarms highlighted.
# Usage: strigilctl replay --limit N FILE | demo-replay.py
import json
import sys

tty = sys.stdout.isatty()


def paint(code, text):
    return "\033[%sm%s\033[0m" % (code, text) if tty else text


def bar(force, limit, width=30):
    scale = max(limit * 1.3, 1.0) if limit else 15.0
    n = max(0, min(width, int(round(force / scale * width))))
    mark = int(round(limit / scale * width)) if limit else None
    cells = ["#" if i < n else " " for i in range(width)]
    if mark is not None and 0 <= mark < width:
        cells[mark] = "|"
    return "[" + "".join(cells) + "]"


limit = None
for line in sys.stdin:
    e = json.loads(line)
    kind = e["event"]
    if kind == "limit":
        limit = e["limit_n"]
        if e["level"] == "exceeded":
            print(paint("1;31", "  !! %7.3f s  LIMIT EXCEEDED: %.2f N > %.2f N  (tool vibrates, red LED)"
                        % (e["t_s"], e["force_n"], e["limit_n"])))
        else:
            print(paint("33", "  !  %7.3f s  warning: %.2f N is near the %.2f N limit  (amber LED)"
                        % (e["t_s"], e["force_n"], e["limit_n"])))
    elif kind == "stroke":
        limit = e.get("limit_n", limit)
        over = e.get("above_limit_s", 0) > 0
        text = ("stroke %3d  %7.3f-%7.3f s  %4.2f s  peak %5.2f N  mean %5.2f N  impulse %5.2f N*s %s"
                % (e.get("index", 0), e["start_s"], e["end_s"], e["duration_s"], e["peak_n"],
                   e["mean_n"], e["impulse_ns"], bar(e["peak_n"], limit)))
        if over:
            text += "  %.3f s over" % e["above_limit_s"]
        print(paint("31", text) if over else text)
    elif kind == "summary":
        print()
        print(paint("1", "summary: %d strokes, %d warnings, %d limit exceeded"
                    % (e["strokes"], e["warnings"], e["exceeded"])))
