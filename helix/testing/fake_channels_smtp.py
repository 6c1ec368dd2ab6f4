"""A real SMTP server on loopback (``aiosmtpd``) that keeps what it is sent::

    with FakeSmtp(tls=True, user="helix", password="pw") as smtp:   # STARTTLS + AUTH required
        env = smtp.environ()          # HELIX_SMTP_* / HELIX_EMAIL_* / HELIX_SMTP_CA_FILE
        ...
        smtp.wait_for(1)
        [mail] = smtp.messages        # email.message.EmailMessage, parsed

With ``tls=True`` a throw-away self-signed certificate for ``127.0.0.1`` is made with the
``openssl`` command and STARTTLS is required before ``AUTH`` or mail; the client trusts it
through ``HELIX_SMTP_CA_FILE``.  Faults, like :class:`~helix.testing.fake_channels.FakeChannels`:
:meth:`fail` answers the next ``DATA`` with an SMTP reply code (the message is not taken),
:meth:`hold` takes it and then withholds the ``250`` until :meth:`release`.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections import deque
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from helix.testing.server_thread import ServerThread


class _QuietLegacyLogin(logging.Filter):
    """aiosmtpd logs a deprecation line for its own ``login_data`` at every AUTH."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


def _quiet_legacy_login() -> None:
    logger = logging.getLogger("mail.log")
    if not any(isinstance(f, _QuietLegacyLogin) for f in logger.filters):
        logger.addFilter(_QuietLegacyLogin())


EMAIL_FROM = "Helix Signals <signals@helix.example>"
EMAIL_TO = "follower@example.com"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for ``127.0.0.1`` (and ``localhost``), valid for a day."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


class FakeSmtp:
    """See the module docstring."""

    def __init__(self, *, tls: bool = True, user: str = "", password: str = "") -> None:
        self.tls = tls
        self.user, self.password = user, password
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.auth_attempts: list[tuple[str, bool]] = []
        self._faults: deque[int | None] = deque()
        self._lock = threading.Lock()
        self._holding = threading.Event()
        self._release: asyncio.Event | None = None
        self._server = ServerThread("FakeSmtp", thread_name="fake-smtp")
        self._tmp: Path | None = None
        self._cert: Path | None = None
        self._closer: asyncio.AbstractServer | None = None
        self.port = 0

    def start(self) -> FakeSmtp:
        _quiet_legacy_login()
        context = None
        if self.tls:
            self._tmp = Path(tempfile.mkdtemp(prefix="helix-fake-smtp-"))
            self._cert, key = self_signed(self._tmp)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self._cert, key)

        async def startup(socks: list[socket.socket]) -> None:
            loop = asyncio.get_running_loop()
            self._release = asyncio.Event()
            self._closer = await loop.create_server(
                lambda: SMTP(
                    self, hostname="fake-smtp.local", tls_context=context,
                    require_starttls=context is not None, auth_required=bool(self.user),
                    auth_require_tls=context is not None, authenticator=self._authenticate,
                    loop=loop,
                ),
                sock=socks[0],
            )  # fmt: skip

        [self.port] = self._server.start(startup)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._closer is not None:
                self._closer.close()

        self._server.stop(close, timeout=10)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> FakeSmtp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def environ(self) -> dict[str, str]:
        """``HELIX_*`` settings and secrets for the email channel, pointing here."""
        env = {
            "HELIX_SMTP_HOST": "127.0.0.1", "HELIX_SMTP_PORT": str(self.port),
            "HELIX_SMTP_STARTTLS": "true" if self.tls else "false",
            "HELIX_EMAIL_FROM": EMAIL_FROM, "HELIX_EMAIL_TO": EMAIL_TO,
        }  # fmt: skip
        if self._cert is not None:
            env["HELIX_SMTP_CA_FILE"] = str(self._cert)
        if self.user:
            env |= {"HELIX_SMTP_USER": self.user, "HELIX_SMTP_PASSWORD": self.password}
        return env

    # -- faults and waits ---------------------------------------------------------------------

    def fail(self, code: int = 451, *, times: int = 1) -> None:
        """The next ``times`` DATA commands are answered ``code`` (not taken)."""
        with self._lock:
            self._faults.extend([code] * times)

    def hold(self) -> None:
        """The next message is taken, then its ``250`` withheld until :meth:`release`."""
        with self._lock:
            self._faults.append(None)

    def wait_holding(self, timeout: float = 10.0) -> None:
        if not self._holding.wait(timeout):
            raise TimeoutError("no message was held")

    def release(self) -> None:
        self._holding.clear()
        if self._release is not None:
            self._server.call_soon(self._release.set)

    def wait_for(self, n: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.messages)} messages, waited for {n}")
            time.sleep(0.01)

    # -- aiosmtpd hooks -----------------------------------------------------------------------

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        self.auth_attempts.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            has_fault = bool(self._faults)
            fault = self._faults.popleft() if has_fault else None
        if fault is not None:
            return f"{fault} 4.3.0 Try again later" if fault < 500 else f"{fault} 5.7.1 Rejected"
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        self.messages.append(parsed)
        if has_fault:  # hold: taken, the answer waits
            self._holding.set()
            assert self._release is not None
            await self._release.wait()
        return "250 2.0.0 OK: queued"
