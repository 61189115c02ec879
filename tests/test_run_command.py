"""`xinfang run` as a user starts it: a real process, real HTTP, real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.persistence.database import drop_database
from tests.conftest import COUNTY, OTHER_COUNTY
from tests.identity import ActAs

ROOT = Path(__file__).resolve().parent.parent
FIRST_LINE: dict[str, str] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def running_service(database_server: str) -> Iterator[tuple[str, str]]:
    port = free_port()
    name = f"xinfang_test_run_{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, DATABASE_URL=database_server, XINFANG_DATABASE=name)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shared.cli",
            "run",
            "--port",
            str(port),
            "--nodes",
            COUNTY,
            OTHER_COUNTY,
            "--cases-per-node",
            "5",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert process.stdout is not None
        FIRST_LINE["run"] = process.stdout.readline()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(
                    f"xinfang run exited: {process.stdout.read() if process.stdout else ''}"
                )
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("xinfang run did not become ready in 60 s")
        yield base, name
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
        print(output)
        asyncio.run(drop_database(database_server, name))


def test_run_serves_seeded_county_nodes_over_http(
    running_service: tuple[str, str], database_server: str
) -> None:
    base, _ = running_service
    index = httpx.get(f"{base}/").json()
    assert [n["code"] for n in index["nodes"]] == [COUNTY, OTHER_COUNTY]
    query = """{ node { name } stats { eventCount personCount }
                 cases(first: 1) { totalCount edges { node { id owner { code } } } } }"""
    body = httpx.post(f"{base}/nodes/{COUNTY}/graphql", json={"query": query}, auth=ActAs()).json()
    assert "errors" not in body, body
    data = body["data"]
    assert data["node"]["name"] == "五华区"
    assert data["stats"]["eventCount"] == 5
    assert data["stats"]["personCount"] >= 5
    assert data["cases"]["totalCount"] == 5
    case_id = data["cases"]["edges"][0]["node"]["id"]
    assert case_id.startswith(f"{COUNTY}-")
    one = httpx.post(
        f"{base}/nodes/{COUNTY}/graphql",
        json={
            "query": "query($id: ID!) { case(id: $id) { id status events { action } } }",
            "variables": {"id": case_id},
        },
        auth=ActAs(),
    ).json()
    assert one["data"]["case"]["id"] == case_id
    assert one["data"]["case"]["events"][0]["action"] == "REGISTER"
    assert httpx.get(f"{base}/health").json()["status"] == "ok"


def test_run_puts_the_gateway_in_front_of_the_tier_services(
    running_service: tuple[str, str],
) -> None:
    base, _ = running_service
    assert httpx.get(f"{base}/").json()["gateway"] == f"{base}/graphql"
    query = f"""{{
      here: jurisdiction(code: "{COUNTY}") {{ name stats {{ eventCount }} }}
      there: jurisdiction(code: "{OTHER_COUNTY}") {{
        cases(first: 2) {{ totalCount edges {{ node {{ id owner {{ code }} }} }} }}
      }}
    }}"""
    unsigned = httpx.post(f"{base}/graphql", json={"query": query})
    assert unsigned.status_code == 401  # no token, no data (docs/adr/0015)
    body = httpx.post(f"{base}/graphql", json={"query": query}, auth=ActAs()).json()
    assert "errors" not in body, body
    assert body["data"]["here"] == {"name": "五华区", "stats": {"eventCount": 5}}
    cases = body["data"]["there"]["cases"]
    assert cases["totalCount"] == 5
    for edge in cases["edges"]:
        assert edge["node"]["id"].startswith(f"{OTHER_COUNTY}-")
        assert edge["node"]["owner"] == {"code": OTHER_COUNTY}


def test_run_prints_the_gateway_address_first_and_serves_the_dashboard(
    running_service: tuple[str, str],
) -> None:
    base, _ = running_service
    assert FIRST_LINE["run"].startswith(f"gateway: {base}/graphql ")
    page = httpx.get(f"{base}/dashboard")
    assert page.status_code == 200
    assert "信访工作态势" in page.text
