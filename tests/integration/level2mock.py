# SPDX-License-Identifier: LGPL-2.1-or-later
"""A strigild of API level 2 for client tests: the dbusmock template
(daemon/dbusmock/strigild.py) on the shipped XML without its level-3
members (Since=3), on a private bus. Its .address and .tmp are what
strigilctl's and strigil-clinic's tests need from a harness."""
import json
import os
import re
import subprocess
import tempfile
import time

import dbus

from harness import check

TOP = os.environ.get("SG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))


class MockHarness:
    """The dbusmock template on the shipped XML without its level-3 members."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="strigil-ctl-mock-")
        xml = open(os.path.join(TOP, "daemon", "org.strigil.Strigil1.xml")).read()
        level2 = re.sub(r'\s*<(method|property|signal) name="\w+"[^>]*>(?:(?!</\1>).)*'
                        r'<annotation name="org.strigil.Strigil1.Since" value="3"/>'
                        r'(?:(?!</\1>).)*</\1>', "", xml, flags=re.S)
        check('value="3"' not in level2 and "ListProfiles" not in level2,
              "the level-2 XML has no level-3 member")
        xml_path = os.path.join(self.tmp, "level2.xml")
        open(xml_path, "w").write(level2)
        self.bus_proc = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1",
             "--address=unix:path=%s/bus" % self.tmp], stdout=subprocess.PIPE,
            universal_newlines=True)
        self.address = self.bus_proc.stdout.readline().strip()
        params = json.dumps({"policy": os.path.join(TOP, "daemon", "policy.conf"),
                             "xml": xml_path})
        self.log = open(os.path.join(self.tmp, "mock.log"), "w+")
        self.mock = subprocess.Popen(
            ["/usr/bin/python3", "-m", "dbusmock", "--system", "--template",
             os.path.join(TOP, "daemon", "dbusmock", "strigild.py"), "--parameters", params],
            env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address),
            stdout=self.log, stderr=subprocess.STDOUT)
        self.bus = dbus.bus.BusConnection(self.address)
        end = time.monotonic() + 30
        while time.monotonic() < end and not self.bus.name_has_owner("org.strigil.Strigil1"):
            time.sleep(0.05)
        self.manager = dbus.Interface(self.bus.get_object("org.strigil.Strigil1",
                                                          "/org/strigil/Strigil1"),
                                      "org.strigil.Strigil1.Manager")

    def prop(self, path, iface, name):
        return self.bus.get_object("org.strigil.Strigil1", path).Get(
            "org.strigil.Strigil1." + iface, name, dbus_interface=dbus.PROPERTIES_IFACE)

    def cleanup(self):
        for p in (self.mock, self.bus_proc):
            p.terminate()
            p.wait()
