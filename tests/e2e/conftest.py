"""End-to-end harness: the real `parley` binary on a free port, driven by the official
twilio-python client exactly as a user would point it at a local server
(shared/docs/reference/clients.md §1).

Fixtures:
- `parley`: one server for the whole session (fresh SQLite file, known credentials).
- `client`: `twilio.rest.Client` pointed at `parley`.
- `server_factory`: starts extra servers (own db, or an existing db for restart tests);
  each is stopped at the end of its test.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

# The client reads these at construction and would mangle a 127.0.0.1 base URL
# (clients.md gotcha 1); a CI proxy must not see loopback traffic (gotcha 2).
for _var in ("TWILIO_EDGE", "TWILIO_REGION"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from twilio.rest import Client  # noqa: E402  (after the environment is cleaned)

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "e2e-test-auth-token-0123456789ab"
START_TIMEOUT_S = 30.0
LISTENING = re.compile(r"Parley listening on (http://\S+)")


def parley_bin() -> Path:
    path = Path(os.environ.get("PARLEY_BIN", "target/debug/parley"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


@dataclass
class Server:
    """One running `parley serve` process and what a client needs to reach it."""

    db_path: Path
    workdir: Path
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    base_url: str = ""
    proc: subprocess.Popen | None = None
    extra_args: tuple = ()
    starts: int = 0
    _logs: list = field(default_factory=list)

    def start(self) -> "Server":
        binary = parley_bin()
        if not binary.exists():
            pytest.fail(f"parley binary not found at {binary}: run `cargo build` or set PARLEY_BIN")
        self.starts += 1
        out_path = self.workdir / f"stdout.{self.starts}.log"
        err_path = self.workdir / f"stderr.{self.starts}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
        env.update(PARLEY_ACCOUNT_SID=self.account_sid, PARLEY_AUTH_TOKEN=self.auth_token)
        # Outbound HTTP (webhooks to the example URLs tests configure) goes through a proxy on
        # a closed loopback port, so nothing leaves the machine; loopback receivers still work.
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env[var] = env[var.lower()] = "http://127.0.0.1:9"
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        cmd = [str(binary), "serve", "--addr", "127.0.0.1:0", "--db", f"sqlite://{self.db_path}", *self.extra_args]
        # Output goes to files, not pipes: a full pipe would block the server.
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=self.workdir)
        self._logs = [out_path, err_path]
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # the one poll the suite allows itself: waiting for the listening line
            m = LISTENING.search(out_path.read_text(errors="replace"))
            if m:
                self.base_url = m.group(1).rstrip("/")
                return self
            if self.proc.poll() is not None:
                pytest.fail(f"parley exited with {self.proc.returncode} before listening:\n{self.logs()}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"parley did not print its listening line within {START_TIMEOUT_S}s:\n{self.logs()}")
            time.sleep(0.02)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self._logs if p.exists())

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then SIGKILL if it hangs."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def kill(self) -> None:
        """Crash stop: SIGKILL, no chance to flush anything that was not committed."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self, *, crash: bool = True) -> "Server":
        """Stops the process (kill -9 by default) and starts a new one on the same db."""
        self.kill() if crash else self.stop()
        return self.start()

    def advance_clock(self, seconds: int) -> dict:
        """Moves the manual clock of a `--dev-clock` server and runs the jobs that fall due,
        before answering: timers are tested without sleeping."""
        r = requests.post(
            f"{self.base_url}/parley/v1/Clock",
            data={"AdvanceSeconds": seconds},
            auth=(self.account_sid, self.auth_token),
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return r.json()

    def client(self, account_sid: str | None = None, auth_token: str | None = None) -> Client:
        return make_client(self.base_url, account_sid or self.account_sid, auth_token or self.auth_token)


def make_client(base_url: str, account_sid: str, auth_token: str) -> Client:
    """twilio-python pointed at a local server, as in clients.md §1."""
    c = Client(account_sid, auth_token)
    c.edge = c.region = None  # must be None: they would rewrite 127.0.0.1 into 127.us1.0.1
    c.conversations.base_url = base_url
    c.studio.base_url = base_url
    return c


@pytest.fixture(scope="session")
def _workdir():
    d = Path(tempfile.mkdtemp(prefix="parley-e2e-"))
    yield d
    if os.environ.get("PARLEY_KEEP_TMP") != "1":
        shutil.rmtree(d, ignore_errors=True)


_server_ids = itertools.count()


def _new_server(workdir: Path, db_path: Path | None = None, **kw) -> Server:
    n = next(_server_ids)
    sdir = workdir / f"server-{n}"
    sdir.mkdir()
    return Server(db_path=db_path or sdir / "parley.db", workdir=sdir, **kw)


@pytest.fixture(scope="session")
def parley(_workdir):
    """The shared server: one process, one fresh database for the session."""
    server = _new_server(_workdir).start()
    yield server
    server.stop()


@pytest.fixture
def server_factory(_workdir):
    """Starts extra servers for tests that need isolation or a restart; stops them after."""
    started: list[Server] = []

    def start(db_path: Path | None = None, **kw) -> Server:
        server = _new_server(_workdir, db_path, **kw).start()
        started.append(server)
        return server

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="session")
def client(parley) -> Client:
    return parley.client()


@pytest.fixture(scope="session")
def v1(client):
    """The Conversations v1 domain of the official client."""
    return client.conversations.v1


_numbers = itertools.count(1)


@pytest.fixture
def phone():
    """Fresh E.164 numbers, so address pairs never collide across tests on the shared server."""

    def next_number() -> str:
        return "+1555%07d" % next(_numbers)

    return next_number


_names = itertools.count(1)


@pytest.fixture
def unique():
    """Fresh names (unique names, identities) for the shared server."""

    def next_name(prefix: str = "name") -> str:
        return f"{prefix}-{os.getpid()}-{next(_names)}"

    return next_name


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the tail of the shared server's logs to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and "parley" in item.fixturenames:
        server = item.funcargs.get("parley")
        if server is not None:
            report.sections.append(("parley server logs", server.logs()))
