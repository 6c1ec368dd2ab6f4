"""A drop-in NATS protocol parser that consumes its buffer once per read, not once per message.

nats-py's parser deletes each control line and each payload from the front of its
``bytearray`` as it goes: one ``memmove`` of the rest of the buffer per step, which dominates
replay at 100k+ messages/s.  This subclass walks the buffer with an offset, splits ``MSG`` /
``HMSG`` control lines without regexes, and trims the buffer once at the end.  Every other
operation (PING, PONG, INFO, +OK, -ERR) uses nats-py's own patterns and callbacks unchanged.
Installed by :func:`helix.store.connect.connect`.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from nats.errors import ProtocolError
from nats.protocol import parser as nats_parser

Handler = Callable[[bytes, bytes, bytes, "bytes | None"], None]

AWAITING_CONTROL_LINE = nats_parser.AWAITING_CONTROL_LINE
AWAITING_MSG_PAYLOAD = nats_parser.AWAITING_MSG_PAYLOAD


class OffsetParser(nats_parser.Parser):
    """See the module docstring."""

    def __init__(self, nc: object = None) -> None:
        self.handlers: dict[int, Handler] = {}
        super().__init__(nc)

    def reset(self) -> None:
        super().reset()
        self._sid = 0
        self._subject = b""
        self._reply = b""

    async def parse(self, data: bytes = b"") -> None:
        buf = self.buf
        buf.extend(data)
        pos = 0
        n = len(buf)
        nc = self.nc
        handlers = self.handlers
        view = memoryview(buf)  # slices of a view copy once, slices of a bytearray twice
        try:
            while pos < n:
                if self.state == AWAITING_MSG_PAYLOAD:
                    end = pos + self.needed
                    if end + 2 > n:
                        break
                    hl = self.header_needed
                    self.header_needed = 0
                    self.state = AWAITING_CONTROL_LINE
                    handler = handlers.get(self._sid)
                    if handler is not None:  # a fast-path subscription: no Msg, no queue
                        # Fast-path handlers get headers only on messages without a reply
                        # (inline statuses); data messages skip the copy.
                        fast_hdr = bytes(view[pos : pos + hl]) if hl and not self._reply else None
                        payload = bytes(view[pos + hl : end])
                        pos = end + 2
                        handler(self._subject, self._reply, payload, fast_hdr)
                        continue
                    if hl > 0:
                        hdr: bytes | None = bytes(view[pos : pos + hl])
                        payload = bytes(view[pos + hl : end])
                    else:
                        hdr = None
                        payload = bytes(view[pos:end])
                    pos = end + 2
                    await nc._process_msg(self._sid, self._subject, self._reply, payload, hdr)
                    if self.buf is not buf:  # the connection was reset under us
                        return
                    continue
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if n - pos > nats_parser.MAX_CONTROL_LINE_SIZE:
                        raise ProtocolError("nats: unknown protocol")
                    break
                first = buf[pos]
                if first in (0x4D, 0x48):  # 'M' or 'H'
                    parts = bytes(view[pos:eol]).split()
                    try:
                        if parts[0] == b"HMSG":
                            if len(parts) == 6:
                                _, subject, sid, reply, hlen, tlen = parts
                            else:
                                _, subject, sid, hlen, tlen = parts
                                reply = b""
                            self.header_needed = int(hlen)
                        elif parts[0] == b"MSG":
                            if len(parts) == 5:
                                _, subject, sid, reply, tlen = parts
                            else:
                                _, subject, sid, tlen = parts
                                reply = b""
                        else:
                            raise ValueError(parts[0])
                        self._sid = int(sid)
                        self.needed = int(tlen)
                    except ValueError as exc:
                        raise ProtocolError("nats: malformed MSG") from exc
                    self._subject, self._reply = subject, reply
                    self.state = AWAITING_MSG_PAYLOAD
                    pos = eol + 2
                    continue
                line = bytes(view[pos : eol + 2])
                pos = eol + 2
                if nats_parser.OK_RE.match(line):
                    continue
                if m := nats_parser.ERR_RE.match(line):
                    await nc._process_err(m.groups()[0].decode().lower())
                elif nats_parser.PING_RE.match(line):
                    await nc._process_ping()
                elif nats_parser.PONG_RE.match(line):
                    await nc._process_pong()
                elif m := nats_parser.INFO_RE.match(line):
                    await nc._process_info(json.loads(m.groups()[0].decode()))
                else:
                    raise ProtocolError("nats: unknown protocol")
                if self.buf is not buf:
                    return
        finally:
            view.release()
            if self.buf is buf and pos:
                del buf[:pos]


def install(nc: object) -> None:
    """Swap the connection's parser (before it connects, or while it is idle)."""
    nc._ps = OffsetParser(nc)  # type: ignore[attr-defined]
