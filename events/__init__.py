"""The event catalogue: frozen, tagged, versioned msgspec Structs (no I/O here).

A published schema is never edited: add ``<aggregate>.<fact>.v<N+1>`` and an upcaster in
:mod:`events.upcast`.  Money is ``Decimal``; time is int UTC nanoseconds.
"""
