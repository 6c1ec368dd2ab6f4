"""Grafana over Helix's read models.

* :mod:`helix.grafana.dashboards` loads the dashboards in ``projections/dashboards/`` (the
  files Grafana's provisioning reads) and the PostgreSQL datasource they all point at;
* :mod:`helix.grafana.macros` expands a panel's SQL the way Grafana does before it reaches
  PostgreSQL (template variables, ``$__interval``, ``$__timeFilter(...)`` and the other macros);
* :mod:`helix.grafana.check` runs every panel's expanded SQL against a database (``helix grafana
  check``; the tests run it as the read-only role);
* :mod:`helix.grafana.publish` pushes the datasource and dashboards to a running Grafana through
  ``grafana-client`` (``helix grafana publish``).
"""
