#!/bin/sh
# test-desktop.sh TOP [APP]: strigil-clinic's desktop integration files
# validate with the desktop's own tools and agree with each other and with
# the app (APP: the built binary, when GTK is there to build it):
#   - desktop-file-validate: no error, no warning, no hint;
#   - appstreamcli validate --pedantic: nothing but the note that the id has
#     capitals (the application id org.strigil.Clinic has them);
#   - one id everywhere: file names, metainfo <id>, <launchable>, Icon=, and
#     the application id in tools/clinic/main.c when the app is there;
#   - Exec= is the binary that <provides> names and make install installs;
#   - <modalias> is the instrument's USB id, the one udev/70-strigil.rules
#     matches (lintian: appstream-metadata-missing-modalias-provide);
#   - the icon is a well-formed square SVG;
#   - strigil-clinic(1) documents exactly the options of `APP --help`;
#   - the strigil package's own metainfo (the service, with the same
#     modalias: it ships the udev rule) validates with no remark.
set -eu
top=$1
app=${2:-}
d=$top/tools/clinic
id=org.strigil.Clinic
fail() { echo "FAIL: $*"; exit 1; }

out=$(desktop-file-validate "$d/$id.desktop" 2>&1) || fail "desktop-file-validate: $out"
[ -z "$out" ] || fail "desktop-file-validate has remarks: $out"
echo "ok: desktop-file-validate"

out=$(appstreamcli validate --no-net --pedantic "$d/$id.metainfo.xml" 2>&1) ||
	fail "appstreamcli validate --pedantic: $out"
extra=$(printf '%s\n' "$out" | grep -E '^[EWIP]: ' | grep -v "cid-contains-uppercase-letter $id\$" || true)
[ -z "$extra" ] || fail "appstreamcli validate --pedantic has remarks: $extra"
echo "ok: appstreamcli validate --pedantic"
svc=$top/packaging/appstream/org.strigil.strigild.metainfo.xml
out=$(appstreamcli validate --no-net --pedantic "$svc" 2>&1) || fail "appstreamcli validate $svc: $out"
[ -z "$(printf '%s\n' "$out" | grep -E '^[EWIP]: ' || true)" ] || fail "appstreamcli validate --pedantic $svc: $out"
echo "ok: appstreamcli validate --pedantic (the service)"

help=""
[ -n "$app" ] && { help=$("$app" --help 2>&1) || fail "$app --help failed: $help"; }
/usr/bin/python3 - "$top" "$id" "$help" <<'EOF' || exit 1
import configparser, os, re, sys
import xml.etree.ElementTree as ET

top, app_id, help_text = sys.argv[1], sys.argv[2], sys.argv[3]
d = os.path.join(top, "tools", "clinic")
bad = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        bad.append(what)


de = configparser.ConfigParser(interpolation=None)
de.optionxform = str
de.read(os.path.join(d, app_id + ".desktop"))
entry = de["Desktop Entry"]
mi = ET.parse(os.path.join(d, app_id + ".metainfo.xml")).getroot()
check(mi.findtext("id") == app_id, "metainfo <id> is %s" % app_id)
check(mi.findtext("launchable[@type='desktop-id']") == app_id + ".desktop",
      "<launchable> names the desktop file")
check(entry["Icon"] == app_id, "Icon= is the id (the icon file's name)")
check(entry["Exec"].split()[0] == "strigil-clinic", "Exec= runs strigil-clinic (%s)" % entry["Exec"])
check(mi.findtext("provides/binary") == entry["Exec"].split()[0], "<provides><binary> is Exec=")
install = open(os.path.join(d, "desktop.mk")).read()
check("$(BINDIR)/strigil-clinic" in install, "make install installs it as strigil-clinic")

rules = open(os.path.join(top, "udev", "70-strigil.rules")).read()
m = re.search(r'ATTRS?\{idVendor\}=="([0-9a-f]{4})".*?ATTRS?\{idProduct\}=="([0-9a-f]{4})"', rules)
# usb:vVVVVpPPPPd*: the form lintian matches (the kernel always writes d after p)
want = "usb:v%sp%sd*" % (m.group(1).upper(), m.group(2).upper()) if m else None
mods = [e.text for e in mi.findall("provides/modalias")]
check(m is not None and mods == [want], "<modalias> %s is the device udev matches (%s)" % (mods, want))
svc = ET.parse(os.path.join(top, "packaging", "appstream", "org.strigil.strigild.metainfo.xml")).getroot()
check([e.text for e in svc.findall("provides/modalias")] == [want],
      "the service's <modalias> is the device udev matches too")
unit = svc.findtext("launchable[@type='service']")
check(os.path.exists(os.path.join(top, "packaging", "systemd", unit or "-")), "its launchable is our unit (%s)" % unit)

man = open(os.path.join(d, "strigil-clinic.1.scd")).read()
sec = re.search(r"^# OPTIONS\n(.*?)^# ", man, re.S | re.M)
documented = sorted(set(re.findall(r"^\*(-[-a-z]+)\*", sec.group(1), re.M)) |
                    set(re.findall(r"^\*-[a-z]\*, \*(--[a-z-]+)\*", sec.group(1), re.M))) if sec else []
check(bool(documented), "strigil-clinic(1) has an OPTIONS section (%s)" % documented)
if help_text:
    offered = sorted(set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", help_text, re.M)))
    check(offered == sorted(o for o in documented if o.startswith("--")),
          "strigil-clinic(1) documents exactly the options of --help (%s vs %s)" % (documented, offered))

main = os.path.join(d, "main.c")
if os.path.exists(main):
    ids = re.findall(r'(?:adw|gtk)_application_new\s*\(\s*"([^"]+)"', open(main).read())
    check(ids == [app_id], "the app's application id is %s (%s)" % (app_id, ids))

svg = ET.parse(os.path.join(d, app_id + ".svg")).getroot()
vb = (svg.get("viewBox") or "").split()
check(svg.tag.endswith("svg") and len(vb) == 4 and vb[2] == vb[3], "the icon is a square SVG (%s)" % vb)
sys.exit(1 if bad else 0)
EOF
echo "all checks passed"
