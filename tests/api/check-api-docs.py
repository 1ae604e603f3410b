#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The D-Bus contract and its documentation cannot drift apart silently.

daemon/org.strigil.Strigil1.xml is what clients generate their proxies from;
docs/dbus-api.md is what their developers read. This check (no daemon
needed; tests/integration/test_docs.py checks the live daemon) fails when:
  - a method, property or signal of the XML is not named in dbus-api.md;
  - a member that is not in the frozen level-1 list (level1-members.txt)
    has no org.strigil.Strigil1.Since annotation: an additive change that
    did not raise the API level;
  - a level-1 member was removed or renamed (version 1 is additive only);
  - a member with Since=N is not named in the level-N row of the
    "API levels" table, or the table skips a level.
Usage: check-api-docs.py TOP
"""
import re
import sys
import xml.etree.ElementTree as ET

SINCE = "org.strigil.Strigil1.Since"
top = sys.argv[1] if len(sys.argv) > 1 else "."
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)
    return cond


def xml_members(path):
    """[(kind, 'Iface.Member', since or None)] of the org.strigil interfaces."""
    out = []
    for i in ET.parse(path).getroot().findall("interface"):
        iface = i.get("name").rsplit(".", 1)[1]
        for kind in ("method", "property", "signal"):
            for m in i.findall(kind):
                since = [a.get("value") for a in m.findall("annotation") if a.get("name") == SINCE]
                out.append((kind, "%s.%s" % (iface, m.get("name")), since[0] if since else None))
    return out


def level_rows(doc):
    """{level: text of its row} from the "## API levels" table."""
    sec = re.search(r"^## API levels\n(.*?)(?=^## )", doc, re.S | re.M)
    if not sec:
        return None
    rows = {}
    for line in sec.group(1).splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|(.*)\|\s*$", line)
        if m:
            rows[int(m.group(1))] = m.group(2)
    return rows


members = xml_members(top + "/daemon/org.strigil.Strigil1.xml")
doc = open(top + "/docs/dbus-api.md", encoding="utf-8").read()
level1 = set()
for line in open(top + "/tests/api/level1-members.txt"):
    line = line.split("#", 1)[0].strip()
    if line:
        kind, name = line.split()
        level1.add((kind, name))

# every member is documented (its name in backticks, e.g. `Claim()` or | `Serial` |)
undocumented = [n for k, n, s in members if "`" + n.split(".")[1] not in doc]
check(not undocumented, "every XML member is named in docs/dbus-api.md (missing: %s)" % undocumented)

have = {(k, n) for k, n, s in members}
removed = sorted(level1 - have)
check(not removed, "no level-1 member was removed or renamed (gone: %s)" % removed)

unmarked = [(k, n) for k, n, s in members if s is None and (k, n) not in level1]
check(not unmarked, "every member added after level 1 carries <annotation name=\"%s\" value=\"N\"/> "
      "(missing on: %s)" % (SINCE, unmarked))
marked1 = [(k, n) for k, n, s in members if s is not None and (k, n) in level1]
check(not marked1, "no level-1 member claims a later level (%s)" % marked1)

bad = [(n, s) for k, n, s in members if s is not None and not (s.isdigit() and int(s) >= 2)]
check(not bad, "Since values are levels >= 2 (%s)" % bad)

rows = level_rows(doc)
if check(rows is not None, "docs/dbus-api.md has an \"## API levels\" table"):
    top_level = max([int(s) for k, n, s in members if s and s.isdigit()] + [1])
    check(sorted(rows) == list(range(1, top_level + 1)),
          "the table has one row per level 1..%d (has %s)" % (top_level, sorted(rows)))
    for k, n, s in members:
        if s and s.isdigit() and int(s) in rows:
            check("`%s`" % n in rows[int(s)], "level %s row names `%s`" % (s, n))

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all checks passed")
