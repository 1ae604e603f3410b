# SPDX-License-Identifier: LGPL-2.1-or-later
"""The desktop around strigil-clinic for its tests and its bench.

tests/integration/harness.py gives the private system-like bus with our
policy, the polkit mock and the real strigild --simulate. This adds what a
desktop has: an X server (Xvfb), a private session bus, the accessibility
bus (at-spi-bus-launcher + registryd) and the app itself with
GTK_A11Y=atspi, so that pyatspi sees every widget by role and name.
pyatspi is imported only after the environment points at these.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from harness import check  # noqa: E402,F401

TOP = harness.TOP
CLINIC = os.environ.get("STRIGIL_CLINIC") or os.path.join(TOP, "build", "strigil-clinic")
SHOTS = os.environ.get("CLINIC_SHOTS") or os.path.join(TOP, "build", "clinic-shots")


def _free_display():
    for n in range(90, 200):
        if not os.path.exists("/tmp/.X11-unix/X%d" % n) and not os.path.exists("/tmp/.X%d-lock" % n):
            return n
    raise RuntimeError("no free X display")


class Desktop:
    def __init__(self, h, width=1280, height=900):
        self.h = h
        self.procs = []
        self.app = None
        self.app_log = open(os.path.join(h.tmp, "clinic.log"), "w+")
        self.home = os.path.join(h.tmp, "home")
        os.makedirs(os.path.join(self.home, "Documents"))
        n = _free_display()
        self.display = ":%d" % n
        self.xvfb = self._spawn(["Xvfb", self.display, "-screen", "0", "%dx%dx24" % (width, height),
                                 "-nolisten", "tcp", "-noreset"])
        if not harness.wait_for(lambda: os.path.exists("/tmp/.X11-unix/X%d" % n), 20):
            raise RuntimeError("Xvfb did not start")
        sb = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                              stdout=subprocess.PIPE, universal_newlines=True)
        self.procs.append(sb)
        self.session_address = sb.stdout.readline().strip()
        os.environ.update({
            "DISPLAY": self.display,
            "DBUS_SESSION_BUS_ADDRESS": self.session_address,
            "HOME": self.home,
            "XDG_RUNTIME_DIR": h.tmp,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "XDG_DATA_HOME": os.path.join(self.home, ".local", "share"),
            "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
            "GTK_A11Y": "atspi",
            "NO_AT_BRIDGE": "0",
            "GSETTINGS_BACKEND": "memory",
        })
        os.environ.pop("WAYLAND_DISPLAY", None)
        self._spawn(["/usr/libexec/at-spi-bus-launcher", "--launch-immediately"])
        time.sleep(0.5)
        import pyatspi  # noqa: F401 (after the environment is set)
        self.pyatspi = pyatspi

    def _spawn(self, argv, **kw):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        return p

    def start_app(self, extra=()):
        env = dict(os.environ, GDK_BACKEND="x11", GSK_RENDERER=os.environ.get("GSK_RENDERER", "cairo"),
                   LANG="C.UTF-8", TZ=os.environ.get("TZ", "UTC"))
        # CLINIC_WRAPPER: e.g. "valgrind -q --error-exitcode=99"
        wrapper = os.environ.get("CLINIC_WRAPPER", "").split()
        self.app = subprocess.Popen(wrapper + [CLINIC, "--address", self.h.address] + list(extra),
                                    stdout=self.app_log, stderr=subprocess.STDOUT, env=env)
        ok = harness.wait_for(lambda: self.app_root() is not None or self.app.poll() is not None, 60)
        if not ok or self.app.poll() is not None:
            self.print_app_log()
            raise RuntimeError("strigil-clinic did not appear on the accessibility bus")

    def print_app_log(self):
        self.app_log.flush()
        self.app_log.seek(0)
        sys.stdout.write("---- strigil-clinic log ----\n" + self.app_log.read() + "---- end ----\n")

    def app_root(self):
        desk = self.pyatspi.Registry.getDesktop(0)
        for i in range(desk.childCount):
            a = desk.getChildAtIndex(i)
            if a is not None and a.name in ("strigil-clinic", "Strigil Clinic", "org.strigil.Clinic"):
                return a
            try:
                if a is not None and a.get_process_id() == self.app.pid:
                    return a
            except Exception:
                pass
        return None

    # ---- finding and driving widgets ------------------------------------
    def find_all(self, role=None, name=None, contains=None, root=None, showing=True):
        root = root or self.app_root()
        out = []
        if root is None:
            return out
        P = self.pyatspi

        def want(a):
            if role is not None and a.getRoleName() != role:
                return False
            if name is not None and a.name != name:
                return False
            if contains is not None and contains not in (a.name or ""):
                return False
            if showing and not a.getState().contains(P.STATE_VISIBLE):
                return False
            return True
        # Own walk: one object that fails to answer (e.g. mid-update) must
        # not hide the rest of the tree.
        stack = [root]
        while stack:
            a = stack.pop()
            try:
                if a is not root and want(a):
                    out.append(a)
                n = a.childCount
            except Exception:
                continue
            for i in range(n - 1, -1, -1):
                try:
                    c = a.getChildAtIndex(i)
                except Exception:
                    c = None
                if c is not None:
                    stack.append(c)
        return out

    def find(self, role=None, name=None, contains=None, timeout=20, showing=True, root=None):
        found = []

        def look():
            try:
                found[:] = self.find_all(role, name, contains, root=root, showing=showing)
            except Exception:
                found[:] = []
            return bool(found)
        harness.wait_for(look, timeout)
        return found[0] if found else None

    def click(self, acc):
        a = acc.queryAction()
        for i in range(a.nActions):
            if a.getName(i) in ("click", "activate", "press", "toggle"):
                return a.doAction(i)
        return a.doAction(0)

    def type_into(self, acc, text):
        """Replaces an entry's text through AT-SPI's EditableText (what an
        on-screen keyboard or a dictation tool does)."""
        acc.queryEditableText().setTextContents(text)
        time.sleep(0.1)

    def key_combo(self, modifier_keycode, keycode):
        """A real key press through XTest (the app has the keyboard focus)."""
        P = self.pyatspi
        P.Registry.generateKeyboardEvent(modifier_keycode, None, P.KEY_PRESS)
        P.Registry.generateKeyboardEvent(keycode, None, P.KEY_PRESSRELEASE)
        P.Registry.generateKeyboardEvent(modifier_keycode, None, P.KEY_RELEASE)
        time.sleep(0.3)

    def text_of(self, acc):
        try:
            t = acc.queryText()
            return t.getText(0, t.characterCount)
        except NotImplementedError:
            return acc.name

    def select_row(self, listbox, name_part):
        """Selects the list row whose accessible name contains name_part."""
        sel = listbox.querySelection()
        for i in range(listbox.childCount):
            c = listbox.getChildAtIndex(i)
            if c is not None and name_part in (c.name or ""):
                return sel.selectChild(i)
        return False

    def screenshot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        path = os.path.join(SHOTS, name + ".png")
        time.sleep(0.4)
        subprocess.run(["import", "-display", self.display, "-window", "root", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return path

    def stop_app(self):
        if self.app and self.app.poll() is None:
            self.app.terminate()
            try:
                self.app.wait(10)
            except subprocess.TimeoutExpired:
                self.app.kill()
                self.app.wait()

    def cleanup(self):
        self.stop_app()
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
