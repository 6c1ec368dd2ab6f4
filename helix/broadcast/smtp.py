"""Email over SMTP (``aiosmtplib``): HTML with the heatmap inline, plus a plain-text part.

Submission is ``STARTTLS`` on port 587 by default (``HELIX_SMTP_STARTTLS``), with a login when
``HELIX_SMTP_USER``/``HELIX_SMTP_PASSWORD`` are set.  ``HELIX_SMTP_CA_FILE`` trusts a private
relay's certificate authority.

What SMTP offers for exactly-once: the message is the server's once it answers ``250`` to the
end of ``DATA``, and nothing afterwards can ask it what it took.  The ``Message-ID`` is the
delivery's stable id (``<delivery-hex@sender-domain>``), so a copy sent again is recognisably
the same message (Gmail, for one, shows a mailbox one message per Message-ID), but the
protocol does not de-duplicate.  So ``recovery = "none"``: a failure before ``DATA`` (connect,
TLS, login, a refused sender or recipient) or an SMTP reply code to ``DATA`` is certain (not
sent; 4xx retried, 5xx final); a connection lost or timed out inside ``DATA`` is ``unknown``
and ``HELIX_BROADCAST_UNKNOWN`` decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
from email.message import EmailMessage

import aiosmtplib

from events.broadcast import Channel
from helix.broadcast.channel import Delivered, Recovery, Refused, Result
from helix.broadcast.credentials import SmtpSecrets
from helix.broadcast.render import Message


class SmtpClient:
    """Sends each message to every ``HELIX_EMAIL_TO`` address in one transaction."""

    channel: Channel = "email"
    takes_images = True
    recovery: Recovery = "none"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        starttls: bool,
        secrets: SmtpSecrets | None,
        from_: str,
        to: list[str],
        timeout_s: float,
        ca_file: str = "",
    ) -> None:
        self._host, self._port, self._starttls = host, port, starttls
        self._secrets = secrets
        self._from, self._to = from_, to
        self._timeout_s = timeout_s
        self._ca_file = ca_file or None

    def __repr__(self) -> str:
        return f"SmtpClient(host={self._host!r}, port={self._port}, to={self._to!r})"

    def build(self, message: Message, image: bytes | None, *, key: str) -> EmailMessage:
        """The MIME message: ``multipart/alternative`` (text, ``multipart/related`` HTML)."""
        mail = EmailMessage()
        mail["From"] = self._from
        mail["To"] = ", ".join(self._to)
        mail["Subject"] = message.subject
        mail["Date"] = email.utils.formatdate(usegmt=True)
        domain = self._from.rpartition("@")[2].strip("> ") or "helix.invalid"
        mail["Message-ID"] = f"<{key}@{domain}>"
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        if image is not None and message.image_cid:
            html_part = mail.get_payload()[1]  # type: ignore[index]
            assert isinstance(html_part, EmailMessage)
            html_part.add_related(
                image, "image", "png", cid=f"<{message.image_cid}>", filename="heatmap.png"
            )
        return mail

    async def send(self, message: Message, image: bytes | None, *, key: str) -> Result:
        mail = self.build(message, image, key=key)
        data = mail.as_bytes()
        smtp = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            start_tls=self._starttls,
            timeout=self._timeout_s,
            cert_bundle=self._ca_file,
        )
        try:
            try:  # nothing can have been delivered before DATA
                await smtp.connect()
                if self._secrets is not None:
                    await smtp.login(self._secrets.user, self._secrets.password)
                await smtp.mail(self._from)
                for rcpt in self._to:
                    await smtp.rcpt(rcpt)
            except aiosmtplib.SMTPResponseException as exc:
                return _refused_code(exc.code, exc.message)
            except (aiosmtplib.SMTPException, OSError) as exc:
                return Refused("not_sent", f"SMTP ({type(exc).__name__})")
            try:
                await smtp.data(data)
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code >= 400:  # the server answered: it did not take the message
                    return _refused_code(exc.code, exc.message)
                return Refused("unknown", f"SMTP DATA unanswered ({type(exc).__name__})")
            except (aiosmtplib.SMTPException, OSError) as exc:
                return Refused("unknown", f"SMTP DATA unanswered ({type(exc).__name__})")
            return Delivered(str(mail["Message-ID"]))
        except asyncio.CancelledError:  # stopping: drop the connection, do not wait on QUIT
            smtp.close()
            raise
        finally:
            if smtp.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await asyncio.wait_for(smtp.quit(), 5)
                smtp.close()

    async def lookup(self, message: Message, since_ns: int) -> str | None:
        raise NotImplementedError("SMTP cannot be asked what it received")

    async def close(self) -> None:
        return None


def _refused_code(code: int, text: str) -> Refused:
    """An SMTP reply code: 4xx try again later, 5xx permanent (auth, unknown recipient)."""
    reason = f"{code} {text}".strip()
    if code == -1:  # aiosmtplib's code for "no reply" (connection lost)
        return Refused("not_sent", reason, None, True)
    return Refused("not_sent", reason, code, 400 <= code < 500)
