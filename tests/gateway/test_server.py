"""The HTTP surface: request errors with their codes, GraphiQL, probes, introspection, CLI."""

from __future__ import annotations

import re

import httpx
import pytest

from gateway.server import (
    DEFAULT_FORWARDED_HEADERS,
    build_parser,
    create_gateway_app,
    forwarded_headers,
)
from gateway.timing import parse_server_timing
from tests.gateway.conftest import SUPERGRAPH_SDL, GatewayClient


def code_of(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


async def test_graphiql_for_browsers(gateway: GatewayClient) -> None:
    response = await gateway.client.get(f"{gateway.url}/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_health_and_ready(gateway: GatewayClient) -> None:
    assert (await gateway.client.get(f"{gateway.url}/health")).status_code == 200
    assert (await gateway.client.get(f"{gateway.url}/ready")).status_code == 200


async def test_not_ready_before_the_lifespan_started() -> None:
    app = create_gateway_app(SUPERGRAPH_SDL, verifier=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        assert (await client.get("/ready")).status_code == 503
        assert (await client.get("/health")).status_code == 200


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ me { name ", None, "GRAPHQL_PARSE_FAILED"),
        ("{ me { nope } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ me { internalNote } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query($u: String!) { product(upc: $u) { name } }", {"u": 5}, "BAD_USER_INPUT"),
        ("query($u: String!) { product(upc: $u) { name } }", {}, "BAD_USER_INPUT"),
        ("query A { me { id } } query B { me { id } }", None, "OPERATION_RESOLUTION_FAILURE"),
    ],
)
async def test_request_errors_are_400_with_a_code(
    gateway: GatewayClient, query: str, variables: dict[str, object] | None, code: str
) -> None:
    response = await gateway.post(query, variables)
    assert response.status_code == 400
    assert code_of(response) == code


async def test_a_body_that_is_not_json_is_a_bad_request(gateway: GatewayClient) -> None:
    response = await gateway.client.post(f"{gateway.url}/graphql", content=b"{nope")
    assert response.status_code == 400
    assert code_of(response) == "BAD_REQUEST"


async def test_queries_over_get_but_not_mutations(gateway: GatewayClient) -> None:
    ok = await gateway.client.get(f"{gateway.url}/graphql", params={"query": "{ me { name } }"})
    assert ok.json() == {"data": {"me": {"name": "Ada Lovelace"}}}
    refused = await gateway.client.get(
        f"{gateway.url}/graphql",
        params={"query": 'mutation { renameUser(id: "1", name: "x") { id } }'},
    )
    assert refused.status_code == 405


async def test_introspection_answers_from_the_api_schema(gateway: GatewayClient) -> None:
    body = await gateway.query(
        '{ __schema { queryType { name } } __type(name: "User") { fields { name } } me { id } }'
    )
    assert body["data"]["__schema"] == {"queryType": {"name": "Query"}}
    fields = [f["name"] for f in body["data"]["__type"]["fields"]]
    assert "internalNote" not in fields
    assert "reviewCount" in fields
    assert body["data"]["me"] == {"id": "1"}
    full = await gateway.query("{ __schema { types { name } } }")
    names = {t["name"] for t in full["data"]["__schema"]["types"]}
    assert not any(n.startswith(("join__", "link__")) for n in names)


def test_retries_and_override_labels_on_the_command_line() -> None:
    args = build_parser().parse_args(
        [
            "--supergraph",
            "s.graphql",
            "--retries",
            "0",
            "--override-label",
            "a",
            "--override-label",
            "b",
        ]
    )
    assert (args.retries, args.override_labels) == (0, ["a", "b"])
    assert build_parser().parse_args(["--supergraph", "s"]).retries == 2


def test_command_line_arguments() -> None:
    args = build_parser().parse_args(["--supergraph", "s.graphql", "--port", "4100"])
    assert (str(args.supergraph), args.host, args.port, args.timeout) == (
        "s.graphql",
        "127.0.0.1",
        4100,
        10.0,
    )


def test_more_headers_can_be_forwarded_from_the_command_line() -> None:
    args = build_parser().parse_args(
        ["--supergraph", "s", "--forward-header", "X-Request-Id", "--forward-header", "traceparent"]
    )
    assert forwarded_headers(args.forward_headers) == (
        "authorization",
        "traceparent",
        "tracestate",
        "x-request-id",
    )
    assert forwarded_headers([]) == DEFAULT_FORWARDED_HEADERS


async def test_every_answer_says_where_its_time_went(gateway: GatewayClient) -> None:
    """``Server-Timing``: the gateway's own time, the time waiting on subgraphs (the union of
    overlapping requests) and how many requests, adding up to the total."""
    query = "{ me { name reviews { body product { name inStock } } } topProducts { name } }"
    response = await gateway.post(query)
    assert response.status_code == 200
    assert "errors" not in response.json()
    timing = parse_server_timing(response.headers["server-timing"])
    assert set(timing) == {"gateway", "subgraphs", "total"}
    assert timing["subgraphs"] > 0
    assert timing["gateway"] > 0
    assert timing["gateway"] + timing["subgraphs"] == pytest.approx(timing["total"], abs=0.02)
    requests = re.search(r'subgraphs;[^,]*desc="(\d+) requests"', response.headers["server-timing"])
    assert requests is not None
    assert int(requests.group(1)) >= 3

    refused = await gateway.post("{ me { name ")
    assert refused.status_code == 400
    timing = parse_server_timing(refused.headers["server-timing"])
    assert timing["subgraphs"] == 0
    assert timing["gateway"] == timing["total"]
    assert '"0 requests"' in refused.headers["server-timing"]
