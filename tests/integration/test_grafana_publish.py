"""``helix grafana publish`` through the real grafana-client against a loopback fake Grafana.

grafana-client speaks HTTP through niquests (request mocks do not see it), so the fake is a
real aiohttp server on 127.0.0.1 that keeps Grafana's answers for the calls publish makes
(reference/apis.md §7): datasource create (409 when the name exists) and update by uid, folder
lookup and create, and dashboard save with ``overwrite``.  It records every request.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from helix.errors import ConfigError, ServiceUnavailable
from helix.grafana.dashboards import DATASOURCE_UID, datasource_payload, load_dashboards
from helix.grafana.publish import connect, publish

pytestmark = pytest.mark.integration

DASHBOARD_UIDS = sorted(d["uid"] for d in load_dashboards())


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorization: str
    status: int = 0


@dataclass
class FakeGrafana:
    """Grafana's HTTP API, the parts publish uses; state in memory."""

    basic: tuple[str, str] = ("admin", "secret")
    token: str = "glsa_test"
    requests: list[Recorded] = field(default_factory=list)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)  # by uid
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)

    def authorized(self, header: str) -> bool:
        user, password = self.basic
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        return header in (f"Basic {basic}", f"Bearer {self.token}")

    @web.middleware
    async def record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        auth = request.headers.get("Authorization", "")
        recorded = Recorded(request.method, request.path, body, auth)
        self.requests.append(recorded)
        response: web.StreamResponse
        if self.authorized(auth):
            response = await handler(request)
        else:
            response = web.json_response({"message": "Unauthorized"}, status=401)
        recorded.status = response.status
        return response

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.record])
        app.router.add_post("/api/datasources", self.create_datasource)
        app.router.add_put("/api/datasources/uid/{uid}", self.update_datasource)
        app.router.add_get("/api/folders/{uid}", self.get_folder)
        app.router.add_post("/api/folders", self.create_folder)
        app.router.add_post("/api/dashboards/db", self.save_dashboard)
        return app

    async def create_datasource(self, request: web.Request) -> web.Response:
        ds = await request.json()
        if any(d["name"] == ds["name"] for d in self.datasources.values()):
            return web.json_response(
                {"message": "data source with the same name already exists"}, status=409
            )
        stored = {**ds, "id": len(self.datasources) + 1}
        self.datasources[ds["uid"]] = stored
        return web.json_response(
            {"datasource": stored, "id": stored["id"], "message": "Datasource added",
             "name": ds["name"]}
        )  # fmt: skip

    async def update_datasource(self, request: web.Request) -> web.Response:
        uid = request.match_info["uid"]
        if uid not in self.datasources:
            return web.json_response({"message": "Data source not found"}, status=404)
        ds = await request.json()
        self.datasources[uid] = {**ds, "id": self.datasources[uid]["id"]}
        return web.json_response({"datasource": self.datasources[uid],
                                  "message": "Datasource updated", "name": ds["name"]})  # fmt: skip

    async def get_folder(self, request: web.Request) -> web.Response:
        uid = request.match_info["uid"]
        if uid not in self.folders:
            return web.json_response({"message": "folder not found"}, status=404)
        return web.json_response(self.folders[uid])

    async def create_folder(self, request: web.Request) -> web.Response:
        body = await request.json()
        folder = {"id": len(self.folders) + 1, "uid": body["uid"], "title": body["title"]}
        self.folders[body["uid"]] = folder
        return web.json_response(folder)

    async def save_dashboard(self, request: web.Request) -> web.Response:
        body = await request.json()
        d = body["dashboard"]
        uid = d["uid"]
        if uid in self.dashboards and not body.get("overwrite"):
            return web.json_response({"message": "A dashboard with the same uid already exists",
                                      "status": "name-exists"}, status=412)  # fmt: skip
        if body.get("folderUid") not in self.folders:
            return web.json_response({"message": "folder not found"}, status=400)
        version = self.dashboards.get(uid, {}).get("version", 0) + 1
        slug = re.sub(r"[^a-z0-9]+", "-", d["title"].lower()).strip("-")
        self.dashboards[uid] = {"dashboard": d, "folderUid": body["folderUid"], "version": version}
        return web.json_response({"id": list(self.dashboards).index(uid) + 1, "uid": uid,
                                  "url": f"/d/{uid}/{slug}", "status": "success",
                                  "version": version, "slug": slug})  # fmt: skip


@dataclass
class Running:
    fake: FakeGrafana
    port: int

    def url(self, user: str = "admin", password: str = "secret") -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"


@pytest.fixture
async def grafana() -> AsyncIterator[Running]:
    fake = FakeGrafana()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Running(fake, port)
    finally:
        await runner.cleanup()


async def helix_publish(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "helix.cli", "grafana", "publish", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200", **env},
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_publish_creates_then_updates_datasource_folder_and_dashboards(
    grafana: Running, tmp_path: Path
) -> None:
    env = {"GRAFANA_URL": grafana.url(), "HELIX_READER_PASSWORD": "r-secret",
           "HELIX_HOME": str(tmp_path)}  # fmt: skip
    args = ("--datasource-host", "db.internal:5432", "--database", "market")
    code, out, err = await helix_publish(*args, env=env)
    assert code == 0, out + err
    fake = grafana.fake
    assert [(r.method, r.path, r.status) for r in fake.requests] == [
        ("POST", "/api/datasources", 200),
        ("GET", "/api/folders/helix", 404),
        ("POST", "/api/folders", 200),
        *[("POST", "/api/dashboards/db", 200)] * len(DASHBOARD_UIDS),
    ]
    basic = base64.b64encode(b"admin:secret").decode()
    assert {r.authorization for r in fake.requests} == {f"Basic {basic}"}
    ds = fake.requests[0].body
    assert ds == datasource_payload(host="db.internal:5432", database="market",
                                    password="r-secret")  # fmt: skip
    assert ds["uid"] == DATASOURCE_UID
    assert ds["user"] == "helix_reader"
    assert fake.requests[2].body == {"title": "Helix", "uid": "helix"}
    for r in fake.requests[3:]:
        assert r.body["overwrite"] is True
        assert r.body["folderUid"] == "helix"
        assert r.body["dashboard"]["id"] is None
        assert r.body["message"] == "helix grafana publish"
    assert sorted(fake.dashboards) == DASHBOARD_UIDS
    assert "datasource 'Helix' (helix-pg): created" in out
    assert "folder 'Helix': created" in out

    fake.requests.clear()
    code, out, err = await helix_publish(*args, env=env)
    assert code == 0, out + err
    assert [(r.method, r.path, r.status) for r in fake.requests] == [
        ("POST", "/api/datasources", 409),  # the name exists: update it by uid
        ("PUT", f"/api/datasources/uid/{DATASOURCE_UID}", 200),
        ("GET", "/api/folders/helix", 200),
        *[("POST", "/api/dashboards/db", 200)] * len(DASHBOARD_UIDS),
    ]
    assert "datasource 'Helix' (helix-pg): updated" in out
    assert "folder 'Helix': exists" in out
    assert {d["version"] for d in fake.dashboards.values()} == {2}
    assert len(fake.datasources) == 1


async def test_a_token_is_sent_as_bearer_and_the_datasource_can_be_skipped(
    grafana: Running,
) -> None:
    api = connect(f"http://127.0.0.1:{grafana.port}", token="glsa_test")
    report = await asyncio.to_thread(publish, api, load_dashboards()[:1], datasource=None)
    assert report.datasource == "skipped"
    assert {r.authorization for r in grafana.fake.requests} == {"Bearer glsa_test"}
    assert [r.path for r in grafana.fake.requests] == [
        "/api/folders/helix", "/api/folders", "/api/dashboards/db",
    ]  # fmt: skip
    assert report.dashboards[0].version == 1
    assert report.dashboards[0].url.startswith("/d/")


async def test_wrong_credentials_are_a_config_error(grafana: Running, tmp_path: Path) -> None:
    env = {"GRAFANA_URL": grafana.url(password="nope"), "HELIX_HOME": str(tmp_path)}
    code, _, err = await helix_publish("--datasource-host", "db:5432", "--database", "h", env=env)
    assert code == 2
    assert "refused the credentials" in err
    api = connect(grafana.url(password="nope"))
    with pytest.raises(ConfigError, match="401"):
        await asyncio.to_thread(publish, api, [], datasource=None)


async def test_a_datasource_name_taken_by_another_uid_is_refused(grafana: Running) -> None:
    grafana.fake.datasources["someone-elses"] = {"name": "Helix", "uid": "someone-elses", "id": 7}
    api = connect(grafana.url())
    ds = datasource_payload(host="db:5432", database="helix")
    with pytest.raises(ConfigError, match="another uid"):
        await asyncio.to_thread(publish, api, [], datasource=ds)


async def test_an_unreachable_grafana_is_service_unavailable(tmp_path: Path) -> None:
    api = connect("http://admin:admin@127.0.0.1:9", timeout=2)
    with pytest.raises(ServiceUnavailable, match="cannot reach Grafana"):
        await asyncio.to_thread(publish, api, [], datasource=None)
    env = {"GRAFANA_URL": "http://admin:admin@127.0.0.1:9", "HELIX_HOME": str(tmp_path)}
    code, _, err = await helix_publish("--skip-datasource", "--timeout", "2", env=env)
    assert code == 5, err
    assert "cannot reach Grafana" in err
