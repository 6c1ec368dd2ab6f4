"""The write side: command types, pure decisions, aggregates, the risk guardian and the venues'
order flow.  Aggregates persist through :mod:`helix.eventstore` (the ``eventsourcing``
persistence module on JetStream).  The order/position/risk aggregates arrive with their issue.
"""
