"""The embedded PostgreSQL cluster: initdb + pg_ctl with the machine's PostgreSQL binaries.

PostgreSQL refuses to run as root, so when Helix runs as root the cluster runs as an unprivileged
account (``postgres`` when the Debian package created it, else a ``helix`` system user).
TimescaleDB is preloaded when its library is installed for these binaries.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from helix.errors import ServiceUnavailable
from helix.services.common import pid_alive, port_open, read_pid, wait_until

DB_NAME = "helix"
DB_USER = "helix"


def find_pg_bindir() -> Path:
    """The bin directory of the newest PostgreSQL on this machine.

    Raises:
        ServiceUnavailable: no PostgreSQL server binaries, with how to get them.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    base = Path("/usr/lib/postgresql")
    if base.is_dir():
        versions = sorted(
            (p for p in base.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True
        )
        candidates.extend(v / "bin" for v in versions)
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    raise ServiceUnavailable(
        "no PostgreSQL server binaries found (initdb, pg_ctl). Install them with "
        "`apt-get install postgresql` (Debian/Ubuntu), or set HELIX_DATABASE_URL to an "
        "existing PostgreSQL"
    )


def service_user() -> pwd.struct_passwd | None:
    """The account the cluster runs as: None when we are not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "helix"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "helix"],
        check=True,
    )
    return pwd.getpwnam("helix")


def timescaledb_available(bindir: Path) -> bool:
    pg_config = bindir / "pg_config"
    if not pg_config.exists():
        return False
    out = subprocess.run(
        [str(pg_config), "--pkglibdir"], capture_output=True, text=True, check=False
    )
    return out.returncode == 0 and (Path(out.stdout.strip()) / "timescaledb.so").exists()


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A PostgreSQL cluster whose data directory and log live under ``root``."""

    root: Path
    port: int

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def pid(self) -> int | None:
        pid = read_pid(self.datadir / "postmaster.pid")
        return pid if pid is not None and pid_alive(pid) else None

    def _run(self, args: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        user = service_user()
        kwargs: dict[str, object] = {}
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd="/",
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
            **kwargs,
        )

    def _prepare_dirs(self) -> None:
        user = service_user()
        self.root.mkdir(parents=True, exist_ok=True)
        if user is not None:
            # Every parent must be traversable by the service account.
            for parent in [self.root, *self.root.parents]:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
            os.chown(self.root, user.pw_uid, user.pw_gid)

    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self, bindir: Path) -> None:
        self._prepare_dirs()
        res = self._run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                DB_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        if res.returncode != 0:
            raise ServiceUnavailable(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write("\n# Helix: settings rewritten at every start\ninclude 'helix.conf'\n")

    def write_conf(self, bindir: Path) -> None:
        lines = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            "unix_socket_directories = ''",
            "max_connections = 200",
            "shared_buffers = '256MB'",
            "fsync = on",
            "synchronous_commit = on",
            "timezone = 'UTC'",
            "log_timezone = 'UTC'",
        ]
        if timescaledb_available(bindir):
            lines += [
                "shared_preload_libraries = 'timescaledb'",
                "timescaledb.telemetry_level = off",
            ]
        conf = self.datadir / "helix.conf"
        conf.write_text("\n".join(lines) + "\n")
        user = service_user()
        if user is not None:
            os.chown(conf, user.pw_uid, user.pw_gid)

    def start(self, *, timeout: float = 60.0) -> bool:
        """Initialise (first time) and start the cluster unless it runs; True if started now."""
        if self.pid() is not None:
            wait_until(lambda: port_open(self.port), timeout=timeout, what="PostgreSQL")
            return False
        bindir = find_pg_bindir()
        if not self.initialised():
            self.init(bindir)
        self.write_conf(bindir)
        self._prepare_dirs()
        res = self._run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            timeout=timeout + 10,
        )
        if res.returncode != 0:
            raise ServiceUnavailable(
                f"PostgreSQL did not start: {res.stdout.strip()} {res.stderr.strip()}\n"
                f"log {self.log_file}:\n{self.log_tail()}"
            )
        self.ensure_database()
        return True

    def ensure_database(self) -> None:
        import psycopg

        admin = f"postgresql://{DB_USER}@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    def stop(self, *, timeout: float = 60.0) -> bool:
        if self.pid() is None:
            return False
        bindir = find_pg_bindir()
        res = self._run(
            [str(bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"],
            timeout=timeout,
        )
        if res.returncode != 0 and self.pid() is not None:
            raise ServiceUnavailable(f"PostgreSQL did not stop: {res.stderr.strip()}")
        return True

    def crash(self) -> None:
        """Stop like a crash: every server process quits at once, no shutdown checkpoint;
        the next start runs crash recovery (for failure tests)."""
        if self.pid() is None:
            return
        bindir = find_pg_bindir()
        self._run([str(bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"])

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
