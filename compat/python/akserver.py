"""Runs `ak serve` for the compat suites: a fresh SQLite store, a free port, management keys.

Used two ways:

* from pytest (conftest.py): ``AkServer(ak_bin).start()`` ... ``.stop()``;
* as a command, to run another program against a server (run.sh uses it for schemathesis):

      python akserver.py -- schemathesis run '$AK_URL/openapi.json' ...

  The child gets ``AK_URL``, ``AK_PROJECT_ID`` and ``AK_MANAGEMENT_KEY`` in its environment (and
  ``$AK_URL`` etc. in its arguments are expanded), and this command exits with the child's status.

The ``ak`` binary is ``$AK_BIN`` (run.sh points it at ``target/debug/ak``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

# A project id shaped like Descope's (28 characters, "P2..."): the SDKs derive nothing from it
# below 32 characters (Python) or 29 (Node), so the base URL given to them is used as is.
PROJECT_ID = "P2akCompatSuite0000000000000"

# How long the server gets to print where it listens and to answer /healthz.
START_TIMEOUT_SECS = 30.0

# The suites make dozens of deliberate failed authentications (wrong keys, revoked keys, a
# read-only key writing) from 127.0.0.1 within seconds; ak's per-IP limit on them (default burst
# 20) would turn later answers into 429s depending on timing. Each suite's server therefore gets
# a larger burst; test_rate_limit.py checks the limiter itself on a server of its own.
#
# The suites' role catalog (compat/roles.json: every role they use, with permissions), so tokens
# carry permissions for the SDKs' validate_permissions helpers; with a catalog ak refuses unknown
# roles.
ROLES_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "roles.json")
SUITE_SERVE_ARGS = ("--auth-failure-burst", "500", "--roles", ROLES_FILE)

_LISTEN_RE = re.compile(r"(https?)://(127\.0\.0\.1|\[::1\]|localhost):(\d+)")


def ak_bin() -> str:
    """The ak binary under test, from $AK_BIN; a clear error when it is missing."""
    path = os.environ.get("AK_BIN", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(
            f"AK_BIN must name the ak binary (got {path!r}); run compat/run.sh, which builds it"
        )
    return path


class AkServer:
    """One `ak serve` process over its own temporary store."""

    def __init__(self, binary: str, project_id: str = PROJECT_ID, name: str = "ak",
                 serve_args: tuple[str, ...] = SUITE_SERVE_ARGS, ca_file: str | None = None):
        self.binary = binary
        self.ca_file = ca_file  # the CA that signed --tls-cert, to reach /healthz over https
        self.serve_args = serve_args
        self.project_id = project_id
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="ak-compat-")
        self.store = f"sqlite:{os.path.join(self.dir, 'ak.db')}"
        self.keys = os.path.join(self.dir, "signing-keys.json")
        log_dir = os.environ.get("AK_COMPAT_LOGS") or self.dir
        os.makedirs(log_dir, exist_ok=True)
        self.log_path = os.path.join(log_dir, f"{name}-server.log")
        self.url = ""
        self.proc: subprocess.Popen | None = None
        self._log = None

    # --- the CLI -------------------------------------------------------------------------

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Runs `ak` on this server's store and issuer (with a clean AK_* environment)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AK_")}
        return subprocess.run(
            [self.binary, "--store", self.store, "--keys", self.keys, "--issuer", self.project_id, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def management_key(self, name: str, read_only: bool = False) -> dict:
        """`ak management-key create --name N [--read-only] --json`: {"cleartext", "key"}."""
        args = ["management-key", "create", "--name", name, "--json"]
        if read_only:
            args.append("--read-only")
        done = self.cli(*args)
        if done.returncode != 0:
            raise RuntimeError(f"`ak {' '.join(args)}` failed ({done.returncode}): {done.stderr.strip()}")
        created = json.loads(done.stdout)
        if not isinstance(created.get("cleartext"), str) or not isinstance(created.get("key"), dict):
            raise RuntimeError(f"`ak management-key create --json` printed no cleartext/key: {done.stdout!r}")
        return created

    # --- the server ----------------------------------------------------------------------

    def start(self) -> "AkServer":
        env = {k: v for k, v in os.environ.items() if not k.startswith("AK_")}
        env.setdefault("RUST_LOG", "info")
        self._log = open(self.log_path, "a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [self.binary, "--store", self.store, "--keys", self.keys, "--issuer", self.project_id,
             "serve", "--listen", "127.0.0.1:0", *self.serve_args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        found: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            # Reads stdout for the listen line, then keeps draining it into the log so that a
            # server logging to stdout never blocks on a full pipe.
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self._log.write(line)
                self._log.flush()
                if not found:
                    match = _LISTEN_RE.search(line)
                    if match:
                        found.append(f"{match.group(1)}://{match.group(2)}:{match.group(3)}")
                        ready.set()
            ready.set()

        threading.Thread(target=pump, name=f"{self.name}-stdout", daemon=True).start()
        if not ready.wait(START_TIMEOUT_SECS) or not found:
            self.stop()
            raise RuntimeError(f"`ak serve` printed no listen address; log: {self.log_tail()}")
        self.url = found[0]
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while True:
            try:
                context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2, context=context) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"`ak serve` at {self.url} never answered /healthz; log: {self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> int | None:
        """SIGTERM, then the exit status (ak exits 0 after a graceful stop; killed after 10 s)."""
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            code = self.proc.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        if not os.environ.get("AK_COMPAT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return code

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                return "".join(log.readlines()[-lines:])
        except OSError:
            return "(no log)"


def expand(arg: str, env: dict) -> str:
    """Replaces $AK_URL, $AK_PROJECT_ID and $AK_MANAGEMENT_KEY in one argument."""
    for name in ("AK_URL", "AK_PROJECT_ID", "AK_MANAGEMENT_KEY"):
        arg = arg.replace(f"${{{name}}}", env[name]).replace(f"${name}", env[name])
    return arg


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print("usage: akserver.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1:]
    server = AkServer(ak_bin(), name=os.environ.get("AK_COMPAT_NAME", "run"))
    management = server.management_key("compat-runner")
    server.start()
    try:
        env = dict(os.environ)
        env.update(AK_URL=server.url, AK_PROJECT_ID=server.project_id, AK_MANAGEMENT_KEY=management["cleartext"])
        expanded = [expand(arg, env) for arg in command]
        code = subprocess.call(expanded, env=env)
        if code != 0:
            print(f"--- last lines of the ak server log ({server.log_path}):\n{server.log_tail()}", file=sys.stderr)
        return code
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
