# Helix's image: every Helix service of docker-compose.yml runs it with another command
# (ingest, projections run, strategies run, trade serve) and deploy/init.py is its start-up job.
#
# The package is installed in editable mode on purpose: migrations/ and projections/dashboards/
# are read from the source tree next to the helix package (helix/db/migrate.py,
# helix/grafana/dashboards.py), which a plain wheel install would not carry.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HELIX_HOME=/var/lib/helix \
    NUMBA_CACHE_DIR=/var/lib/helix/numba-cache \
    MPLCONFIGDIR=/var/lib/helix/matplotlib

RUN useradd --system --uid 10001 --home-dir /var/lib/helix --create-home --shell /usr/sbin/nologin helix

WORKDIR /app
COPY pyproject.toml README.md ./
COPY helix ./helix
COPY events ./events
COPY commands ./commands
COPY projections ./projections
COPY audit ./audit
COPY migrations ./migrations
COPY deploy ./deploy
RUN pip install --editable . && helix --help >/dev/null

USER helix
ENTRYPOINT ["helix"]
CMD ["--help"]
