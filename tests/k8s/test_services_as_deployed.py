"""The rendered manifests against the real programs: the dev township Deployment's command,
environment and registry run as the kubelet would start them (only the port moved to a
free one on loopback), logged in as the database owner CloudNativePG would make from the
Cluster (no superuser), and the database settings against the locks a migration takes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from shared.persistence.database import asyncpg_url, drop_database, ensure_database
from shared.persistence.migrate import BATCH, PARALLEL, node_schema_sql
from tests.identity import KEY
from tests.k8s.manifests import (
    ROOT,
    Resource,
    container_env,
    containers,
    expanded_args,
    generated,
    named,
    of_kind,
    overlay,
)
from tests.test_run_command import free_port

pytestmark = pytest.mark.db


def as_deployed(tmp_path: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """The township container's args and environment, with its mounts under ``tmp_path``."""
    resources = overlay("dev")
    container = containers(named(resources, "Deployment", "xinfang-township"))[0]
    registry = generated(resources, "ConfigMap", "xinfang-registry")["data"]["registry.json"]
    (tmp_path / "registry.json").write_text(registry, encoding="utf-8")
    args = expanded_args(resources, container)
    mounted = {"/etc/xinfang/registry/registry.json": str(tmp_path / "registry.json")}
    args = [mounted.get(a, a) for a in args]
    args[args.index("--port") + 1] = str(port)
    args[args.index("--host") + 1] = "127.0.0.1"
    env = container_env(resources, container)
    env["XINFANG_DATA_DIR"] = str(tmp_path / "data")
    # The JWKS secret, as a developer fills it: here the suite's test key.
    assert env["XINFANG_JWKS"] == "/etc/xinfang/jwks/jwks.json"
    (tmp_path / "jwks.json").write_text(json.dumps(KEY.jwks()), encoding="utf-8")
    env["XINFANG_JWKS"] = str(tmp_path / "jwks.json")
    return args, env


def token_as_deployed(code: str) -> str:
    """A handler of ``code``, for the issuer and audience the deployment expects."""
    env = container_env(
        overlay("dev"), containers(named(overlay("dev"), "Deployment", "xinfang-township"))[0]
    )
    return KEY.mint(
        subject=f"handler@{code}",
        jurisdiction=code,
        roles=["handler"],
        issuer=env["XINFANG_ISSUER"],
        audience=env["XINFANG_AUDIENCE"],
    )


@pytest.fixture
def township_service(database_server: str, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    port = free_port()
    args, env = as_deployed(tmp_path, port)
    name = f"xinfang_test_k8s_{uuid.uuid4().hex[:8]}"
    owner = cluster_owner(overlay("dev"), "xinfang-pg-township")
    login = f"{name}_{owner['name']}"
    asyncio.run(bootstrap_as_cloudnativepg(database_server, name, login, owner))
    url = make_url(database_server).set(username=login, password=None)
    env.update(DATABASE_URL=url.render_as_string(hide_password=False), XINFANG_DATABASE=name)
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"the township service exited: {output}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise AssertionError("the township service did not answer /health in 120 s")
        yield base, args
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
        print(output)
        asyncio.run(drop_database(database_server, name))
        asyncio.run(admin(database_server, f'DROP ROLE "{login}"'))


def cluster_owner(resources: tuple[Resource, ...], cluster: str) -> Resource:
    """The managed role that owns the cluster's database (initdb's owner)."""
    spec = named(resources, "Cluster", cluster)["spec"]
    owner = spec["bootstrap"]["initdb"]["owner"]
    role: Resource = next(r for r in spec["managed"]["roles"] if r["name"] == owner)
    return role


async def admin(server: str, *statements: str) -> None:
    connection = await asyncpg.connect(server)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def bootstrap_as_cloudnativepg(
    server: str, database: str, login: str, role: Resource
) -> None:
    """What the operator leaves behind: the owner role with the managed attributes, and the
    database it owns."""
    attributes = [
        "LOGIN" if role["login"] else "NOLOGIN",
        "CREATEROLE" if role["createrole"] else "NOCREATEROLE",
        "INHERIT" if role.get("inherit", True) else "NOINHERIT",
        "SUPERUSER" if role["superuser"] else "NOSUPERUSER",
    ]
    await admin(
        server,
        f'CREATE ROLE "{login}" {" ".join(attributes)}',
        f'CREATE DATABASE "{database}" OWNER "{login}"',
    )


def test_the_dev_township_deployment_serves_its_nodes_as_rendered(
    township_service: tuple[str, list[str]],
) -> None:
    base, args = township_service
    nodes = args[args.index("--nodes") + 1 : args.index("--host")]
    container = containers(named(overlay("dev"), "Deployment", "xinfang-township"))[0]
    ready = httpx.get(f"{base}{container['readinessProbe']['httpGet']['path']}")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "nodes": len(nodes)}
    assert httpx.get(f"{base}{container['livenessProbe']['httpGet']['path']}").status_code == 200
    assert [n["code"] for n in httpx.get(f"{base}/").json()["nodes"]] == nodes
    unsigned_in = httpx.post(
        f"{base}/nodes/{nodes[-1]}/graphql", json={"query": "{ node { code } }"}
    ).json()
    assert unsigned_in["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = httpx.post(
        f"{base}/nodes/{nodes[-1]}/graphql",
        json={"query": "{ node { code name } stats { eventCount } }"},
        headers={"authorization": f"Bearer {token_as_deployed(nodes[-1])}"},
    ).json()
    assert "errors" not in body, body
    assert body["data"]["node"] == {"code": "530102401", "name": "昆明国家高新技术产业开发区"}
    cases = int(container_env(overlay("dev"), container)["XINFANG_CASES_PER_NODE"])
    assert body["data"]["stats"]["eventCount"] == cases
    # A tier service, not a whole platform: it takes messages and serves no gateway.
    refused = httpx.post(f"{base}/nodes/{nodes[0]}/messages", json={"not": "a message"})
    assert (refused.status_code, refused.json()["status"]) == (401, "unauthenticated")
    assert httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}).status_code == 404


async def test_every_database_holds_the_locks_of_a_migration_wave(database_server: str) -> None:
    """``migrate_nodes`` creates BATCH new schemas per transaction, PARALLEL at once; the
    server's lock table (max_locks_per_transaction × max_connections) must hold them all."""
    name = f"xinfang_test_locks_{uuid.uuid4().hex[:8]}"
    await ensure_database(database_server, name)
    # Through SQLAlchemy's URL: the embedded server's URL names a socket folder in its query.
    url = asyncpg_url(database_server, name).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        transaction = connection.transaction()
        await transaction.start()
        role = f"{name}_node_530102001"
        await connection.execute(f'CREATE ROLE "{role}" NOLOGIN')
        login = await connection.fetchval("SELECT current_user")
        await connection.execute(node_schema_sql("node_530102001", role, login))
        per_schema = await connection.fetchval(
            "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()"
        )
        await transaction.rollback()
    finally:
        await connection.close()
        await drop_database(database_server, name)
    needed = per_schema * BATCH * PARALLEL
    for resources in (overlay(o) for o in ("dev", "province", "country-example")):
        for cluster in of_kind(resources, "Cluster"):
            parameters = cluster["spec"]["postgresql"]["parameters"]
            slots = int(parameters["max_locks_per_transaction"]) * int(
                parameters["max_connections"]
            )
            assert slots >= 2 * needed, (cluster["metadata"]["name"], slots, needed)
