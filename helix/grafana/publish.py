"""Push the datasource and dashboards to a running Grafana through ``grafana-client``.

For a Grafana that docker compose did not provision.  Everything is an upsert, so publishing
twice changes nothing:

* the PostgreSQL datasource: ``POST /api/datasources``; when Grafana answers 409 (the name is
  taken) ``PUT /api/datasources/uid/<uid>`` updates it;
* the folder: ``GET /api/folders/<uid>``, created with ``POST /api/folders`` when missing;
* each dashboard: ``POST /api/dashboards/db`` with ``id: null``, its stable ``uid``, the folder
  and ``overwrite: true``.

``grafana-client`` (niquests underneath) raises its own exception tree; it is translated here:
401/403 become :class:`~helix.errors.ConfigError`, a Grafana that cannot be reached
:class:`~helix.errors.ServiceUnavailable`, other refusals
:class:`~helix.errors.InfrastructureError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from helix.errors import ConfigError, InfrastructureError, ServiceUnavailable
from helix.grafana.dashboards import Dashboard

FOLDER_UID = "helix"
FOLDER_TITLE = "Helix"


@dataclass(frozen=True)
class Published:
    """What Grafana answered for one dashboard."""

    uid: str
    title: str
    url: str
    version: int


@dataclass(frozen=True)
class PublishReport:
    datasource: str  # "created" | "updated" | "skipped"
    folder: str  # "created" | "exists"
    dashboards: list[Published]


def connect(url: str, *, token: str | None = None, timeout: float = 10.0) -> Any:
    """A ``GrafanaApi`` for ``url`` (``http://user:password@host:3000``), or with a service
    account ``token`` (sent as ``Authorization: Bearer``).

    Raises:
        ConfigError: grafana-client is not installed.
    """
    try:
        from grafana_client.api import GrafanaApi
    except ImportError as exc:
        raise ConfigError(
            "helix grafana publish needs grafana-client: pip install 'grafana-client>=5.1.4'"
        ) from exc

    return GrafanaApi.from_url(url, credential=token or None, timeout=timeout)  # type: ignore[no-untyped-call]


@contextmanager
def _translated(what: str) -> Iterator[None]:
    import niquests
    from grafana_client.client import (
        GrafanaClientError,
        GrafanaException,
        GrafanaServerError,
        GrafanaTimeoutError,
        GrafanaUnauthorizedError,
    )

    try:
        yield
    except GrafanaUnauthorizedError as exc:
        raise ConfigError(
            f"Grafana refused the credentials while {what} (401): give user:password in "
            "the URL or a service-account token (GRAFANA_TOKEN)"
        ) from exc
    except GrafanaClientError as exc:
        if exc.status_code == 403:
            raise ConfigError(f"Grafana forbids {what} (403): the account needs Admin") from exc
        raise InfrastructureError(f"Grafana refused {what}: {exc.message}") from exc
    except GrafanaServerError as exc:
        raise InfrastructureError(f"Grafana failed {what}: {exc.message}") from exc
    except (GrafanaTimeoutError, niquests.exceptions.RequestException) as exc:
        raise ServiceUnavailable(f"cannot reach Grafana while {what}: {exc}") from exc
    except GrafanaException as exc:
        raise ServiceUnavailable(f"Grafana request failed while {what}: {exc.message}") from exc


def upsert_datasource(api: Any, payload: dict[str, Any]) -> str:
    """Create the datasource, or update it by uid when its name exists; "created"/"updated".

    Raises:
        ConfigError, InfrastructureError, ServiceUnavailable: see the module docstring.
    """
    from grafana_client.client import GrafanaClientError

    with _translated(f"creating datasource {payload['name']!r}"):
        try:
            api.datasource.create_datasource(payload)
            return "created"
        except GrafanaClientError as exc:
            if exc.status_code != 409:
                raise
    with _translated(f"updating datasource uid {payload['uid']!r}"):
        try:
            api.datasource.update_datasource_by_uid(payload["uid"], payload)
        except GrafanaClientError as exc:
            if exc.status_code == 404:
                raise ConfigError(
                    f"Grafana has a datasource named {payload['name']!r} with another uid; "
                    f"rename it or publish with another --datasource-name"
                ) from exc
            raise
    return "updated"


def ensure_folder(api: Any, uid: str = FOLDER_UID, title: str = FOLDER_TITLE) -> str:
    """The dashboards' folder: "exists" or "created"."""
    from grafana_client.client import GrafanaClientError

    with _translated(f"looking up folder {uid!r}"):
        try:
            api.folder.get_folder(uid)
            return "exists"
        except GrafanaClientError as exc:
            if exc.status_code != 404:
                raise
    with _translated(f"creating folder {title!r}"):
        api.folder.create_folder(title, uid=uid)
    return "created"


def upsert_dashboard(api: Any, dashboard: Dashboard, *, folder_uid: str, message: str) -> Published:
    """Create or overwrite one dashboard (by its uid)."""
    body = {
        "dashboard": {**dashboard, "id": None},
        "folderUid": folder_uid,
        "overwrite": True,
        "message": message,
    }
    with _translated(f"saving dashboard {dashboard['uid']!r}"):
        answer = api.dashboard.update_dashboard(body)
    return Published(
        uid=str(answer.get("uid", dashboard["uid"])),
        title=str(dashboard["title"]),
        url=str(answer.get("url", "")),
        version=int(answer.get("version", 0)),
    )


def publish(
    api: Any,
    dashboards: Sequence[Dashboard],
    *,
    datasource: dict[str, Any] | None,
    folder_uid: str = FOLDER_UID,
    folder_title: str = FOLDER_TITLE,
    message: str = "helix grafana publish",
) -> PublishReport:
    """Datasource (unless None), folder, then every dashboard.

    Raises:
        ConfigError, InfrastructureError, ServiceUnavailable: see the module docstring.
    """
    ds = upsert_datasource(api, datasource) if datasource is not None else "skipped"
    folder = ensure_folder(api, folder_uid, folder_title)
    done = [upsert_dashboard(api, d, folder_uid=folder_uid, message=message) for d in dashboards]
    return PublishReport(datasource=ds, folder=folder, dashboards=done)
