"""Helix's ``eventsourcing`` persistence module on NATS JetStream.

``PERSISTENCE_MODULE=helix.eventstore`` selects :class:`JetStreamFactory` (the one
infrastructure factory in this module).  See :mod:`helix.eventstore.factory` for settings.
"""

from helix.eventstore.factory import JetStreamFactory
from helix.eventstore.recorders import (
    JetStreamAggregateRecorder,
    JetStreamApplicationRecorder,
    JetStreamProcessRecorder,
    JetStreamSubscription,
)

Factory = JetStreamFactory

__all__ = [
    "Factory",
    "JetStreamAggregateRecorder",
    "JetStreamApplicationRecorder",
    "JetStreamFactory",
    "JetStreamProcessRecorder",
    "JetStreamSubscription",
]
