"""The one error tree of Helix.

::

    HelixError
    ├── ConfigError                 bad settings or environment (exit 2)
    ├── DomainError                 a business rule said no (exit 3)
    │   └── ValidationError         malformed input (a feed line, a CLI argument)
    ├── ConcurrencyError            an optimistic-concurrency check failed (exit 4)
    │   └── DuplicateError          the thing is already there (same id/version)
    └── InfrastructureError         a service misbehaved or is missing (exit 5)
        ├── ServiceUnavailable      NATS / PostgreSQL could not be reached or started
        ├── StoreError              the event store refused or lost a write
        │   └── StreamConfigError   an existing stream's config is incompatible
        └── ProjectionError         a projector stopped on an event it cannot apply

NATS and psycopg errors are translated into these at the adapter boundary with
``raise ... from exc``; the CLI maps each branch to a message and an exit code.
"""

from __future__ import annotations


class HelixError(Exception):
    """Base of every error Helix raises on purpose."""

    exit_code = 1


class ConfigError(HelixError):
    """Settings or environment are wrong."""

    exit_code = 2


class DomainError(HelixError):
    """A business rule rejected the request."""

    exit_code = 3


class ValidationError(DomainError):
    """Input could not be parsed or violates its schema."""


class ConcurrencyError(HelixError):
    """An optimistic-concurrency check failed: someone else wrote first.

    Attributes:
        subject: the subject (stream of one aggregate) that conflicted.
        expected: the sequence/version the writer expected to be last.
    """

    exit_code = 4

    def __init__(self, message: str, *, subject: str = "", expected: int | None = None) -> None:
        super().__init__(message)
        self.subject = subject
        self.expected = expected


class DuplicateError(ConcurrencyError):
    """The record (same aggregate id and version, or same key) already exists."""


class InfrastructureError(HelixError):
    """A backing service failed."""

    exit_code = 5


class ServiceUnavailable(InfrastructureError):
    """A service could not be reached, started or stopped."""


class StoreError(InfrastructureError):
    """The event store did not accept or could not confirm a write or read."""


class StreamConfigError(StoreError):
    """An existing JetStream stream has a config Helix cannot safely use."""


class ProjectionError(InfrastructureError):
    """A projector stopped on an event it cannot apply."""

    def __init__(self, message: str, *, projector: str = "", seq: int | None = None) -> None:
        super().__init__(message)
        self.projector = projector
        self.seq = seq
