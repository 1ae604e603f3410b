# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration test harness for strigild.

A private dbus-daemon with a configuration that mirrors the system bus
defaults (deny method calls and ownership) and includes OUR policy file
daemon/org.strigil.Strigil1.conf, python3-dbusmock's polkitd template as the
authority, and strigild (the ASan build in make check) with simulated
instruments and a temporary state directory. Python: /usr/bin/python3 only
(Debian's python3-dbus, python3-dbusmock, python3-gi).
"""
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

TOP = os.environ.get("SG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
STRIGILD = os.environ.get("STRIGILD") or os.path.join(TOP, "build", "strigild-san")
POLICY = os.path.join(TOP, "daemon", "policy.conf")
BUS_POLICY = os.path.join(TOP, "daemon", "org.strigil.Strigil1.conf")
XML = os.path.join(TOP, "daemon", "org.strigil.Strigil1.xml")
# The regions with sides in the tests' default policy (a copy of the shipped
# one): only these, so that the tests written before sides existed keep
# treating "calf" or "upper_back" as they did; tests of laterality choose
# their own with Harness.write_policy(lateral=...).
TEST_LATERAL = ("shin", "forearm")

NAME = "org.strigil.Strigil1"
ROOT = "/org/strigil/Strigil1"
IFACE = "org.strigil.Strigil1."
ERR = "org.strigil.Strigil1.Error."
ACTIONS = ["org.strigil.Strigil1." + a for a in
           ("monitor", "treat", "manage-profiles", "override-contraindication", "calibrate")]
SIM1 = dbus.ObjectPath(ROOT + "/instrument/SIM0001")

# Generous guard against a hung daemon; never a performance assertion.
# Scaled when strigild runs under a slow wrapper (valgrind: ~20-50x slower).
SLOWDOWN = 4 if "valgrind" in os.environ.get("STRIGILD_WRAPPER", "") else 1
WAIT_S = 30 * SLOWDOWN

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)

failures = []
verbose = True      # print every passed check (the demo turns it off)
# The demo sets this: the bus, the polkit mock and strigild then run in
# sessions of their own, so a Ctrl-C at the terminal reaches the demo alone,
# which stops the session and then its helpers in order.
own_process_group = False


def check(cond, what):
    """Records a failed expectation and keeps going (all are reported)."""
    if cond:
        if verbose:
            print("ok:", what)
    else:
        print("FAIL:", what)
        failures.append(what)
    return cond


def finish():
    if failures:
        print("%d check(s) failed:" % len(failures))
        for f in failures:
            print("  -", f)
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def close(a, b, tol):
    return a is not None and b is not None and abs(float(a) - float(b)) <= tol


def pump(seconds):
    """Runs the GLib main loop for a while (lets signals arrive)."""
    ctx = GLib.MainContext.default()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ctx.iteration(False)
        time.sleep(0.002)


def drain():
    """Dispatches every message already received (e.g. signals that arrived
    ahead of a method reply): after a call returns, what the daemon sent
    before that reply is delivered."""
    ctx = GLib.MainContext.default()
    while ctx.pending():
        ctx.iteration(False)


def wait_for(cond, timeout=WAIT_S):
    ctx = GLib.MainContext.default()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        ctx.iteration(False)
        time.sleep(0.002)
    return cond()


def expect_error(fn, name, what):
    """Calls fn and checks that it fails with D-Bus error `name`."""
    try:
        fn()
    except dbus.exceptions.DBusException as e:
        ok = e.get_dbus_name() == name
        check(ok, "%s -> %s (%s)" % (what, name, e.get_dbus_message() if ok else
                                      "%s: %s" % (e.get_dbus_name(), e.get_dbus_message())))
        return e
    check(False, "%s -> %s (call succeeded)" % (what, name))
    return None


class Harness:
    def __init__(self, simulate=2, sim_signal="flat"):
        self.tmp = tempfile.mkdtemp(prefix="strigil-it-")
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state)
        self.simulate = simulate
        self.sim_signal = sim_signal
        self.bus_proc = self.polkit_proc = self.daemon_proc = None
        self.policy = None
        self.daemon_log = None
        self.signals = []
        self._start_bus()
        self._start_polkit()
        self.bus = dbus.bus.BusConnection(self.address)
        self.bus.add_signal_receiver(self._on_signal, bus_name=None,
                                     path_keyword="path", member_keyword="member",
                                     interface_keyword="interface")
        self.polkit = dbus.Interface(
            self.bus.get_object("org.freedesktop.PolicyKit1",
                                "/org/freedesktop/PolicyKit1/Authority"),
            "org.freedesktop.DBus.Mock")
        self.set_allowed(ACTIONS)

    # ---- processes -------------------------------------------------------
    def _write_config(self):
        user_rule = ""
        if os.getuid() != 0:
            # our policy lets root or user strigil own the name and root or
            # the clinic groups call it; here the daemon and the client run
            # as the invoking user, who gets what the clinic groups get
            import pwd
            user_rule = '<policy user="%s"><allow own="%s"/>' % (pwd.getpwuid(os.getuid()).pw_name, NAME)
            for iface in ("org.strigil.Strigil1.Manager", "org.strigil.Strigil1.Instrument",
                          "org.strigil.Strigil1.Session", "org.strigil.Strigil1.Profile",
                          "org.freedesktop.DBus.ObjectManager", "org.freedesktop.DBus.Introspectable",
                          "org.freedesktop.DBus.Peer"):
                user_rule += '<allow send_destination="%s" send_interface="%s"/>' % (NAME, iface)
            for member in ("Get", "GetAll"):
                user_rule += ('<allow send_destination="%s" send_interface="org.freedesktop.DBus.Properties"'
                              ' send_member="%s"/>' % (NAME, member))
            user_rule += "</policy>"
        conf = os.path.join(self.tmp, "bus.conf")
        with open(conf, "w") as f:
            f.write("""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%(tmp)s/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <!-- the defaults of /usr/share/dbus-1/system.conf -->
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <!-- the polkit mock (polkit's own bus policy allows this) -->
    <allow own="org.freedesktop.PolicyKit1"/>
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
  <include>%(policy)s</include>
  %(user_rule)s
  <policy context="default">
    <!-- test-only: the Debug interface of simulated instruments -->
    <allow send_destination="%(name)s" send_interface="org.strigil.Strigil1.Debug"/>
  </policy>
</busconfig>
""" % {"tmp": self.tmp, "policy": BUS_POLICY, "user_rule": user_rule, "name": NAME})
        return conf

    def _start_bus(self):
        conf = self._write_config()
        self.bus_proc = subprocess.Popen(
            ["dbus-daemon", "--config-file=" + conf, "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, universal_newlines=True,
            start_new_session=own_process_group)
        self.address = self.bus_proc.stdout.readline().strip()
        if not self.address:
            raise RuntimeError("dbus-daemon did not start")

    def _start_polkit(self):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
        self.polkit_proc = subprocess.Popen(
            ["/usr/bin/python3", "-m", "dbusmock", "--system", "--template", "polkitd"],
            env=env, stdout=subprocess.DEVNULL, start_new_session=own_process_group)
        bus = dbus.bus.BusConnection(self.address)
        if not wait_for(lambda: bus.name_has_owner("org.freedesktop.PolicyKit1")):
            raise RuntimeError("polkit mock did not start")
        bus.close()

    def write_policy(self, lateral=None, extra=""):
        """A copy of the shipped policy where only the regions in `lateral`
        have sides (None: as shipped), plus `extra` text; used by the next
        start_daemon(). Returns its path."""
        import re
        text = open(POLICY).read()
        if lateral is not None:
            out, region = [], None
            for line in text.splitlines():
                m = re.match(r"\[region (\w+)\]", line)
                if line.startswith("["):
                    region = m.group(1) if m else None
                if re.match(r"lateral\s*=", line) and region not in lateral:
                    continue
                out.append(line)
                if m and m.group(1) in lateral and "lateral = yes" not in text.split(
                        "[region %s]" % m.group(1), 1)[1].split("[", 1)[0]:
                    out.append("lateral = yes")
            text = "\n".join(out) + "\n"
        self.policy = os.path.join(self.tmp, "policy.conf")
        with open(self.policy, "w") as f:
            f.write(text + extra)
        return self.policy

    def seed_database(self, sql_file):
        """Writes the state directory's database from an SQL dump (an older
        schema: strigild migrates it at start)."""
        import sqlite3
        db = sqlite3.connect(os.path.join(self.state, "strigil.db"))
        db.executescript(open(sql_file).read())
        db.close()

    def start_daemon(self, extra=(), hotplug=False, env_extra=None):
        self.daemon_log = open(os.path.join(self.tmp, "strigild.log"), "a+")
        env = dict(os.environ,
                   ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=66",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        env.pop("JOURNAL_STREAM", None)
        env.update(env_extra or {})
        # STRIGILD_WRAPPER: e.g. "valgrind --error-exitcode=99 --leak-check=full"
        wrapper = os.environ.get("STRIGILD_WRAPPER", "").split()
        self.daemon_proc = subprocess.Popen(
            wrapper + [STRIGILD, "--address", self.address, "--state-dir", self.state,
             "--policy", self.policy or self.write_policy(lateral=TEST_LATERAL), "--simulate", str(self.simulate),
             "--sim-signal", self.sim_signal] + ([] if hotplug else ["--no-hotplug"]) + list(extra),
            stdout=self.daemon_log, stderr=subprocess.STDOUT, env=env,
            start_new_session=own_process_group)
        if not wait_for(lambda: self.bus.name_has_owner(NAME) or
                        self.daemon_proc.poll() is not None):
            raise RuntimeError("strigild did not start")
        if self.daemon_proc.poll() is not None:
            self.print_log()
            raise RuntimeError("strigild exited with %d" % self.daemon_proc.returncode)

    def print_log(self):
        if self.daemon_log:
            self.daemon_log.seek(0)
            sys.stdout.write("---- strigild log ----\n" + self.daemon_log.read() +
                             "---- end of log ----\n")

    def stop_daemon(self):
        """SIGTERM, then checks a clean exit (ASan/UBSan/LSan find nothing)."""
        p = self.daemon_proc
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        self.daemon_log.seek(0)
        log = self.daemon_log.read()
        check(rc == 0, "strigild exits cleanly on SIGTERM (exit %d)" % rc)
        check("Sanitizer" not in log and "runtime error" not in log,
              "no sanitizer report in the daemon log")
        if rc != 0 or "Sanitizer" in log or "runtime error" in log:
            self.print_log()
        wait_for(lambda: not self.bus.name_has_owner(NAME))
        self.daemon_proc = None

    def kill_daemon(self):
        self.daemon_proc.send_signal(signal.SIGKILL)
        self.daemon_proc.wait()
        self.daemon_proc = None
        wait_for(lambda: not self.bus.name_has_owner(NAME))

    def cleanup(self):
        if self.daemon_proc:
            self.stop_daemon()
        for p in (self.polkit_proc, self.bus_proc):
            if p:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if failures:
            self.print_log()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- D-Bus helpers -----------------------------------------------------
    def _on_signal(self, *args, path=None, member=None, interface=None):
        self.signals.append((path, interface, member, args))

    def signals_of(self, member, path=None):
        return [s for s in self.signals if s[2] == member and (path is None or s[0] == path)]

    def script_played(self, path):
        """True once the simulated instrument at `path` has played every
        stroke queued by Debug.Play and every Debug.Spike, in sample time:
        those samples have gone through the engine (signals included)."""
        p = plain(self.obj(path).GetAll(IFACE + "Debug",
                                        dbus_interface="org.freedesktop.DBus.Properties"))
        return p["PendingStrokes"] == 0 and not p["SpikePending"]

    def set_allowed(self, actions):
        self.polkit.SetAllowed(dbus.Array(actions, signature="s"))

    def obj(self, path):
        return self.bus.get_object(NAME, path, introspect=False)

    def iface(self, path, name):
        return dbus.Interface(self.obj(path), IFACE + name)

    def props(self, path, name):
        return self.obj(path).GetAll(IFACE + name,
                                     dbus_interface="org.freedesktop.DBus.Properties")

    def prop(self, path, name, prop):
        return self.obj(path).Get(IFACE + name, prop,
                                  dbus_interface="org.freedesktop.DBus.Properties")

    @property
    def manager(self):
        return self.iface(ROOT, "Manager")

    def create_profile(self, **kw):
        d = dbus.Dictionary({}, signature="sv")
        for k, v in kw.items():
            d[k] = v
        return self.manager.CreateProfile(d)


def plain(v):
    """dbus types -> python values (for comparisons and printing)."""
    if isinstance(v, dbus.Dictionary) or isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (dbus.Array, list, tuple, dbus.Struct)):
        return [plain(x) for x in v]
    if isinstance(v, (dbus.String, dbus.ObjectPath)):
        return str(v)
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.Double,)):
        return float(v)
    if isinstance(v, (dbus.Byte, dbus.Int16, dbus.UInt16, dbus.Int32, dbus.UInt32,
                      dbus.Int64, dbus.UInt64)):
        return int(v)
    return v


def is_nan(v):
    return isinstance(v, float) and math.isnan(v)
