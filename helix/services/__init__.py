"""Embedded services: a nats-server (JetStream) and a PostgreSQL cluster under ``HELIX_HOME``.

``up`` starts what is not running and reuses what is; ``status`` reports; ``down`` stops.
Ports are chosen once (configured, or free at first start) and kept in ``services.json`` so that
URLs stay stable across restarts.
"""
