# SPDX-License-Identifier: LGPL-2.1-or-later
"""The clinic network's test rig (real parts only):

- a real PostgreSQL 15 (initdb + pg_ctl in a temporary directory, as user
  nobody when the tests run as root), TLS only, with a server certificate
  from a test CA made here with openssl, scram-sha-256 passwords;
- the central schema applied by `strigil-sync migrate`, one login role
  per PC (member of strigil_pc);
- per PC: a private dbus-daemon with our bus policies, the polkit mock,
  strigild (ASan build) with a simulated instrument and its own state
  directory, and strigil-sync with its own configuration and state.
"""
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import *  # noqa: E402,F401,F403
import harness  # noqa: E402

SYNC = os.environ.get("STRIGIL_SYNC") or os.path.join(TOP, "build", "strigil-sync-san")
CTL = os.environ.get("STRIGILCTL") or os.path.join(TOP, "build", "strigilctl")
SYNC_CONF = os.path.join(TOP, "sync", "org.strigil.Sync1.conf")
CENTRAL_SQL = os.path.join(TOP, "sync", "central")
PGBIN = "/usr/lib/postgresql/15/bin"
SYNC_NAME = "org.strigil.Sync1"
SYNC_PATH = "/org/strigil/Sync1"
SYNC_ACTION = "org.strigil.Strigil1.sync-profiles"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, cwd="/", **kw)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd), p.returncode, p.stdout))
    return p


class Server:
    """PostgreSQL with TLS from a test CA, in its own temporary directory."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="strigil-pg-")
        os.chmod(self.tmp, 0o755)
        self.data = os.path.join(self.tmp, "data")
        self.port = free_port()
        self.admin_pw = "admin-%d" % random.randrange(1 << 30)
        self.as_user = []
        if os.getuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            self.as_user = ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid,
                            "--clear-groups", "--"]
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        self.run_dir = self.path("run")     # the server's log and socket
        os.mkdir(self.run_dir, 0o700)
        os.chown(self.run_dir, self.uid, self.gid)
        self._tls()
        self._initdb()
        self.start()
        self._setup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def _tls(self):
        # the clinic's CA and the server's certificate for "localhost"
        ca_key, ca = self.path("ca.key"), self.path("ca.pem")
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=Strigil test clinic CA", "-keyout", ca_key, "-out", ca])
        key, csr, crt = self.path("server.key"), self.path("server.csr"), self.path("server.crt")
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", key, "-out", csr])
        ext = self.path("ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:localhost\n")
        run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt])
        # another CA the server does not use (wrong-CA test)
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=Some other CA", "-keyout", self.path("other.key"),
             "-out", self.path("other-ca.pem")])
        os.chown(key, self.uid, self.gid)
        os.chmod(key, 0o600)
        os.chmod(ca, 0o644)
        os.chmod(crt, 0o644)

    def _initdb(self):
        pwfile = self.path("admin.pw")
        with open(pwfile, "w") as f:
            f.write(self.admin_pw + "\n")
        os.chown(pwfile, self.uid, self.gid)
        os.mkdir(self.data, 0o700)
        os.chown(self.data, self.uid, self.gid)
        run(self.as_user + [PGBIN + "/initdb", "-D", self.data, "-U", "strigil_admin",
                            "--pwfile", pwfile, "-A", "scram-sha-256", "-E", "UTF8",
                            "--locale", "C"])
        os.unlink(pwfile)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = 'localhost'\nport = %d\n"
                    "unix_socket_directories = '%s'\nssl = on\n"
                    "ssl_cert_file = '%s'\nssl_key_file = '%s'\n"
                    "fsync = off\nlog_min_messages = warning\n"
                    % (self.port, self.run_dir, self.path("server.crt"), self.path("server.key")))
        # TLS only: no plain "host" line, so a connection without TLS is refused
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("hostssl all all 127.0.0.1/32 scram-sha-256\n"
                    "hostssl all all ::1/128 scram-sha-256\n")

    def start(self):
        run(self.as_user + [PGBIN + "/pg_ctl", "-D", self.data, "-l", os.path.join(self.run_dir, "log"),
                            "-w", "-t", "60", "start"])

    def stop(self):
        run(self.as_user + [PGBIN + "/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])

    def conninfo(self, user, db="strigil"):
        return ("host=localhost port=%d dbname=%s user=%s sslmode=verify-full sslrootcert=%s"
                % (self.port, db, user, self.path("ca.pem")))

    def passfile(self, name, user, pw):
        p = self.path("%s.pgpass" % name)
        with open(p, "w") as f:
            f.write("localhost:%d:*:%s:%s\n" % (self.port, user, pw))
        os.chmod(p, 0o600)
        return p

    def psql(self, sql, user="strigil_admin", pw=None, db="strigil", check_rc=True):
        """Runs SQL through psql over TLS; returns (rc, output)."""
        env = dict(os.environ, PGPASSFILE=self.passfile("psql-" + user, user,
                                                         pw or self.admin_pw))
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            self.conninfo(user, db), "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, env=env)
        if check_rc and p.returncode != 0:
            raise RuntimeError("psql failed: %s\n%s" % (sql, p.stdout))
        return p.returncode, p.stdout.strip()

    def _setup(self):
        self.psql("CREATE DATABASE strigil", db="postgres")
        conf = self.path("migrate.conf")
        with open(conf, "w") as f:
            f.write("[migrate]\nconninfo = %s passfile=%s\n"
                    % (self.conninfo("strigil_admin"),
                       self.passfile("admin", "strigil_admin", self.admin_pw)))
        out = run([SYNC, "migrate", "--config", conf, "--sql-dir", CENTRAL_SQL]).stdout
        self.migrate_out = out

    def add_pc(self, role):
        pw = "pw-%s-%d" % (role, random.randrange(1 << 30))
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE strigil_pc" % (role, pw))
        return pw

    def cleanup(self):
        try:
            self.stop()
        except Exception:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


class PC(Harness):
    """One treatment-room PC: bus, polkit mock, strigild, strigil-sync."""

    def __init__(self, name, server, simulate=1):
        self.name = name
        self.server = server
        super().__init__(simulate=simulate)
        self.set_allowed(harness.ACTIONS + [SYNC_ACTION])
        self.write_policy()     # the shipped policy: calf, shin... have sides
        self.sync_proc = None
        self.sync_log = open(os.path.join(self.tmp, "sync.log"), "a+")
        self.role = "pc_" + name
        self.pw = server.add_pc(self.role)
        self.config = self.write_config()

    def _write_config(self):
        conf = super()._write_config()
        with open(conf) as f:
            text = f.read()
        text = text.replace("</busconfig>", "  <include>%s</include>\n</busconfig>" % SYNC_CONF)
        with open(conf, "w") as f:
            f.write(text)
        return conf

    def write_config(self, **override):
        s = self.server
        vals = {
            "conninfo": s.conninfo(self.role),
            "password_file": s.passfile(self.name, self.role, self.pw),
            "database": os.path.join(self.state, "strigil.db"),
            "state": os.path.join(self.tmp, "sync-state.db"),
            "batch": 5000,
        }
        vals.update(override)
        path = os.path.join(self.tmp, "sync.conf")
        with open(path, "w") as f:
            f.write("[server]\nconninfo = %(conninfo)s\npassword_file = %(password_file)s\n"
                    "[local]\ndatabase = %(database)s\nstate = %(state)s\n"
                    "[sync]\nretry_max_s = 0.5\nbatch = %(batch)d\n" % vals)
        return path

    def start_sync(self, config=None, wait=True):
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=66",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        env.pop("JOURNAL_STREAM", None)
        env.pop("NOTIFY_SOCKET", None)
        # STRIGIL_SYNC_WRAPPER: e.g. "valgrind --error-exitcode=99 --leak-check=full"
        wrapper = os.environ.get("STRIGIL_SYNC_WRAPPER", "").split()
        self.sync_proc = subprocess.Popen(
            wrapper + [SYNC, "--config", config or self.config, "--address", self.address],
            stdout=self.sync_log, stderr=subprocess.STDOUT, env=env)
        if wait and not wait_for(lambda: self.bus.name_has_owner(SYNC_NAME) or
                                 self.sync_proc.poll() is not None):
            raise RuntimeError("strigil-sync did not start")
        return self.sync_proc

    def kill_sync(self):
        self.sync_proc.send_signal(signal.SIGKILL)
        self.sync_proc.wait()
        self.sync_proc = None
        wait_for(lambda: not self.bus.name_has_owner(SYNC_NAME))

    def stop_sync(self):
        p = self.sync_proc
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        self.sync_proc = None
        log = self.read_sync_log()
        check(rc == 0, "%s: strigil-sync exits cleanly on SIGTERM (exit %d)" % (self.name, rc))
        check("ERROR SUMMARY: 0 errors" in log or "valgrind" not in os.environ.get(
            "STRIGIL_SYNC_WRAPPER", ""), "%s: valgrind finds nothing in strigil-sync" % self.name)
        check("Sanitizer" not in log and "runtime error" not in log,
              "%s: no sanitizer report in strigil-sync's log" % self.name)
        wait_for(lambda: not self.bus.name_has_owner(SYNC_NAME))

    def read_sync_log(self):
        self.sync_log.seek(0)
        return self.sync_log.read()

    def status(self):
        o = self.bus.get_object(SYNC_NAME, SYNC_PATH, introspect=False)
        return plain(o.GetAll(SYNC_NAME, dbus_interface="org.freedesktop.DBus.Properties"))

    def ctl(self, *args):
        p = subprocess.run([CTL, "--address", self.address] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        return p.returncode, p.stdout, p.stderr

    def profile_by_uuid(self, uuid):
        for p in plain(self.prop(ROOT, "Manager", "Profiles")):
            try:
                if plain(self.prop(p, "Profile", "Uuid")) == uuid:
                    return dbus.ObjectPath(p)
            except dbus.exceptions.DBusException:
                pass    # deleted between the list and the look
        return None

    def cleanup(self):
        if self.sync_proc:
            self.stop_sync()
        if failures:
            sys.stdout.write("---- %s strigil-sync log ----\n%s---- end ----\n"
                             % (self.name, self.read_sync_log()))
        super().cleanup()
