"""The isolation matrix (issue 6, ADR 0015): every role at every tier, trying to read and write
outside its scope through the gateway and directly at nodes and tier endpoints, plus forged
tokens. Every attempt must be refused, no response may carry an out-of-scope node's data,
nothing may be written, and the in-scope controls must be allowed (so refusing everything
would fail too).

The attempts are generated from the schemas (every root field naming a node, every mutation
with sample arguments), not listed by hand: a field another branch adds is attacked as well.
One service process hosts seven nodes on one line of Yunnan and beside it (another city,
another province); the gateway routes by key to it over real HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_composite_type,
)
from graphql.pyutils import Undefined
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from gateway.supergraph import load_supergraph
from shared.auth import Role, SigningKey
from shared.divisions import Tier, tier_of
from shared.graphql.app import create_service_app
from shared.holidays import default_calendar
from shared.local_platform import SUPERGRAPH
from shared.persistence.migrate import migrate_nodes
from shared.registry import NodeRegistry
from shared.service import TierService
from tests.conftest import SECRET, TEST_NODES, empty_nodes
from tests.gateway.servers import serving
from tests.identity import AUDIENCE, ISSUER, KEY, User, suite_verifier
from tests.roles import snapshot

# A line of the tree (云南省 > 昆明市 > 五华区 > 华山街道), a sibling county (盘龙区), another
# city (曲靖市) and another province (贵州省).
PROVINCE, CITY, COUNTY, TOWNSHIP = "53", "5301", "530102", "530102001"
SIBLING_COUNTY, OTHER_CITY, OTHER_PROVINCE = "530103", "5303", "52"
EXTRA_NODES = [OTHER_CITY, OTHER_PROVINCE]
NODES = [PROVINCE, OTHER_PROVINCE, CITY, OTHER_CITY, COUNTY, SIBLING_COUNTY, TOWNSHIP]
USERS = [User(code, (role,)) for code in (TOWNSHIP, COUNTY, CITY, PROVINCE) for role in Role]
NODE_ARGUMENTS = ("id", "code", "caseId")
REFUSED = ("FORBIDDEN", "UNAUTHENTICATED")


def marker(code: str) -> str:
    return f"矩阵机密事项{code}"


# -- attempts generated from a schema ------------------------------------------------------------


def sample(type_: GraphQLInputType, name: str, target: str, case_id: str) -> Any:
    """A valid value of ``type_`` for argument ``name``, naming ``target`` where it names a node."""
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type, name, target, case_id)
    if isinstance(type_, GraphQLList):
        return [sample(type_.of_type, name, target, case_id)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            key: sample(f.type, key, target, case_id)
            for key, f in type_.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        }
    assert isinstance(type_, GraphQLScalarType)
    if type_.name == "ID":
        return case_id if name in ("id", "caseId") else target
    return {
        "String": "x",
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "Date": "2025-03-10",
        "DateTime": "2025-03-10T02:00:00+00:00",
    }.get(type_.name, "x")


def required(field_: GraphQLField) -> dict[str, GraphQLArgument]:
    return {
        name: argument
        for name, argument in field_.args.items()
        if isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined
    }


def operation(
    kind: str, name: str, field_: GraphQLField, target: str, case_id: str
) -> tuple[str, dict[str, Any]]:
    """``kind`` (query/mutation) of one root field, its required arguments as variables."""
    arguments = required(field_)
    definitions = ", ".join(f"${a}: {arg.type}" for a, arg in arguments.items())
    passed = ", ".join(f"{a}: ${a}" for a in arguments)
    selection = " { __typename }" if is_composite_type(get_named_type(field_.type)) else ""
    head = f"{kind} Attempt({definitions})" if definitions else f"{kind} Attempt"
    call = f"{name}({passed})" if passed else name
    variables = {a: sample(arg.type, a, target, case_id) for a, arg in arguments.items()}
    return f"{head} {{ {call}{selection} }}", variables


def root_fields(schema: GraphQLSchema, kind: str) -> dict[str, GraphQLField]:
    root = schema.mutation_type if kind == "mutation" else schema.query_type
    assert isinstance(root, GraphQLObjectType)
    return {n: f for n, f in root.fields.items() if not n.startswith("_")}


def names_a_node(field_: GraphQLField) -> bool:
    return any(a in required(field_) for a in NODE_ARGUMENTS)


def routed(field_: GraphQLField) -> bool:
    """Whether the gateway routes it to the node it names (``code``/``id``)."""
    return any(a in required(field_) for a in ("id", "code"))


# -- the platform under attack -----------------------------------------------------------------


@dataclass
class Platform:
    gateway: str
    services: str
    http: httpx.AsyncClient
    engine: AsyncEngine
    cases: dict[str, str]  # node -> the id of its seeded case
    supergraph: GraphQLSchema
    tier_schemas: dict[Tier, GraphQLSchema]

    async def post(self, url: str, body: Mapping[str, Any], token: str | None) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(url, json=body, headers=headers)


@pytest.fixture
async def platform(engine: AsyncEngine) -> AsyncIterator[Platform]:
    await migrate_nodes(engine, EXTRA_NODES)
    await empty_nodes(engine, [*TEST_NODES, *EXTRA_NODES])
    registry = NodeRegistry()
    parts = []
    tier_schemas: dict[Tier, GraphQLSchema] = {}
    for tier in Tier:
        schema = importlib.import_module(f"{tier.value.lower()}.schema").schema
        tier_schemas[tier] = schema._schema
        service = TierService(
            tier=tier,
            engine=engine,
            calendar=default_calendar(),
            person_key_secret=SECRET,
            registry=registry,
        )
        service.host([code for code in NODES if tier_of(code) is tier])
        parts.append((service, schema))
    app = create_service_app(parts, on_shutdown_dispose=False, relay=False)
    async with (
        serving(app) as base,
        httpx.AsyncClient(timeout=60, limits=httpx.Limits(keepalive_expiry=1.0)) as http,
    ):
        registry.tiers.update(dict.fromkeys(Tier, base))
        sdl = SUPERGRAPH.read_text(encoding="utf-8")
        fallback = {t.value.lower(): f"{base}/tiers/{t.value.lower()}/graphql" for t in Tier}
        router = KeyRouter(registry, fallback)
        gateway_app = create_gateway_app(sdl, verifier=suite_verifier(), router=router)
        async with serving(gateway_app) as gateway:
            cases = {}
            for code in NODES:  # each node's own case, registered by its own handler
                body = await register(http, base, code)
                cases[code] = body["data"]["registerPetition"]["id"]
            yield Platform(
                f"{gateway}/graphql",
                base,
                http,
                engine,
                cases,
                load_supergraph(sdl).api_schema,
                tier_schemas,
            )


REGISTER = """mutation($i: RegisterPetitionInput!, $k: String!) {
  registerPetition(input: $i, idempotencyKey: $k) { id } }"""


async def register(http: httpx.AsyncClient, base: str, code: str) -> dict[str, Any]:
    petition = {
        "channel": "LETTER",
        "category": "土地征收",
        "summary": marker(code),
        "issueLocality": code,
        "petitionerName": "证人" + "".join("零一二三四五六七八九"[int(d)] for d in code),
    }
    response = await http.post(
        f"{base}/nodes/{code}/graphql",
        json={"query": REGISTER, "variables": {"i": petition, "k": f"matrix-{code}"}},
        headers=User(code).headers(),
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


# -- bookkeeping -------------------------------------------------------------------------------


@dataclass
class Tally:
    denied: int = 0
    allowed: int = 0
    by_surface: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def note(self, surface: str) -> None:
        self.denied += 1
        self.by_surface[surface] = self.by_surface.get(surface, 0) + 1


@dataclass(frozen=True)
class Attempt:
    surface: str  # gateway, node, tier endpoint, forged
    user: str
    url: str
    body: dict[str, Any]
    token: str | None
    outside: frozenset[str]  # nodes whose data must not appear
    positions: int = 0  # _entities: how many representations must each be refused


def outside_of(user: User) -> frozenset[str]:
    return frozenset(code for code in NODES if not code.startswith(user.jurisdiction))


def leaks(platform: Platform, text: str, outside: frozenset[str]) -> list[str]:
    return [code for code in outside if marker(code) in text or platform.cases[code] in text]


async def judge(platform: Platform, attempt: Attempt, tally: Tally) -> None:
    response = await platform.post(attempt.url, attempt.body, attempt.token)
    text = response.text
    what = f"{attempt.surface} {attempt.user} {attempt.url} {attempt.body.get('query', '')[:90]}"
    leaked = leaks(platform, text, attempt.outside)
    if leaked:
        tally.failures.append(f"LEAK of {leaked}: {what}: {text[:300]}")
        return
    body = response.json()
    errors = body.get("errors") or []
    codes = [(e.get("extensions") or {}).get("code") for e in errors]
    if attempt.positions:
        entities = (body.get("data") or {}).get("_entities") or [None] * attempt.positions
        refused = sum(1 for c in codes if c in REFUSED)
        if any(e is not None for e in entities) or refused < attempt.positions:
            tally.failures.append(f"NOT REFUSED: {what}: {text[:300]}")
            return
    elif not any(c in REFUSED for c in codes) or _has_data(body.get("data")):
        tally.failures.append(f"NOT REFUSED: {what}: {text[:300]}")
        return
    tally.note(attempt.surface)


def _has_data(data: Any) -> bool:
    if isinstance(data, dict):
        return any(_has_data(v) for v in data.values())
    if isinstance(data, list):
        return any(_has_data(v) for v in data)
    return data is not None


# -- the attempts --------------------------------------------------------------------------------


def gateway_attempts(platform: Platform, user: User) -> Iterator[Attempt]:
    """Every root field naming a node, at every node outside the user's subtree. Writes: a
    non-handler, every mutation kind at its own node; a handler, every mutation kind naming a
    node outside its subtree and below it (where only the node's own handlers write), each
    kind at one of those nodes in turn."""
    outside = sorted(outside_of(user))
    token = user.token()

    def attempt(surface: str, kind: str, name: str, field_: GraphQLField, target: str) -> Attempt:
        query, variables = operation(kind, name, field_, target, platform.cases[target])
        body = {"query": query, "variables": variables}
        return Attempt(surface, user.name, platform.gateway, body, token, frozenset(outside))

    for target in outside:
        for name, field_ in root_fields(platform.supergraph, "query").items():
            if names_a_node(field_):
                yield attempt("gateway read", "query", name, field_, target)
        deep = (
            "query($c: ID!) { jurisdiction(code: $c) { code stats { eventCount } "
            "cases { totalCount edges { node { id summary petitioner { name } } } } } }"
        )
        body = {"query": deep, "variables": {"c": target}}
        yield Attempt("gateway read", user.name, platform.gateway, body, token, frozenset(outside))
    writes = root_fields(platform.supergraph, "mutation")
    if Role.HANDLER not in user.roles:  # not even its own node: a non-handler never writes
        for name, field_ in writes.items():
            yield attempt("gateway write", "mutation", name, field_, user.jurisdiction)
        return
    named = [(n, f) for n, f in writes.items() if names_a_node(f)]
    for turn, (name, field_) in enumerate(named):
        yield attempt("gateway write", "mutation", name, field_, outside[turn % len(outside)])
    below = [c for c in NODES if c.startswith(user.jurisdiction) and c != user.jurisdiction]
    if below:
        for turn, (name, field_) in enumerate((n, f) for n, f in writes.items() if routed(f)):
            yield attempt("gateway write", "mutation", name, field_, below[turn % len(below)])


def climbing_attempts(platform: Platform, user: User) -> Iterator[Attempt]:
    """Node-owned data of a node above, reached from inside: refused at the entity fetch."""
    if user.jurisdiction == PROVINCE:
        return
    outside = outside_of(user)
    own = platform.cases[user.jurisdiction]
    queries = [
        (
            "query($c: ID!) { jurisdiction(code: $c) { parent { stats { eventCount } "
            "cases { totalCount edges { node { id summary } } } } } }",
            {"c": user.jurisdiction},
        ),
        (
            "query($id: ID!) { case(id: $id) { owner { parent { stats { eventCount } } } } }",
            {"id": own},
        ),
    ]
    for query, variables in queries:
        yield Attempt(
            "gateway climb",
            user.name,
            platform.gateway,
            {"query": query, "variables": variables},
            user.token(),
            outside,
        )


def node_attempts(platform: Platform, user: User) -> Iterator[Attempt]:
    """Directly at nodes: every query field of a tier at a node outside the subtree; every
    mutation kind of a tier at a node the user may not write to (a handler: every node but its
    own; anyone else: its own node), each at one of those nodes in turn."""
    outside = outside_of(user)
    token = user.token()
    for tier, schema in platform.tier_schemas.items():
        of_tier = [c for c in NODES if tier_of(c) is tier]
        unreadable = [c for c in of_tier if c in outside]
        if Role.HANDLER in user.roles:  # any node but its own
            unwritable = [c for c in of_tier if c != user.jurisdiction]
        else:  # its own node is enough: it may write nowhere
            unwritable = [c for c in of_tier if c == user.jurisdiction]
        for kind, targets in (("query", unreadable), ("mutation", unwritable)):
            if not targets:
                continue
            for turn, (name, field_) in enumerate(root_fields(schema, kind).items()):
                target = targets[turn % len(targets)]
                query, variables = operation(kind, name, field_, target, platform.cases[target])
                yield Attempt(
                    "node read" if kind == "query" else "node write",
                    user.name,
                    f"{platform.services}/nodes/{target}/graphql",
                    {"query": query, "variables": variables},
                    token,
                    outside,
                )


ENTITY_SELECTIONS = {
    "Case": "id summary petitioner { name }",
    "Jurisdiction": "code stats { eventCount } cases { totalCount }",
    "Review": "id caseId",
    "SupervisionOrder": "id caseId",
}
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { %s } }"


def entities_query(schema: GraphQLSchema) -> str:
    """Every node-owned entity type of this tier's schema, with fields holding its data."""
    union = schema.get_type("_Entity")
    assert isinstance(union, GraphQLUnionType)
    names = {t.name for t in union.types}
    fragments = " ".join(
        f"... on {name} {{ {selection} }}"
        for name, selection in ENTITY_SELECTIONS.items()
        if name in names
    )
    return ENTITIES % fragments


def tier_attempts(platform: Platform, user: User) -> Iterator[Attempt]:
    outside = outside_of(user)
    for target in sorted(outside):
        url = f"{platform.services}/tiers/{tier_of(target).value.lower()}/graphql"
        query = entities_query(platform.tier_schemas[tier_of(target)])
        case_id = platform.cases[target]
        for representation in (
            {"__typename": "Case", "id": case_id},
            {"__typename": "Jurisdiction", "code": target},
            {"__typename": "Review", "id": f"{target}-R-1"},
            {"__typename": "SupervisionOrder", "id": f"{target}-S-1"},
        ):
            if f"on {representation['__typename']} " not in query:
                continue
            yield Attempt(
                "tier endpoint",
                user.name,
                url,
                {"query": query, "variables": {"r": [representation]}},
                user.token(),
                outside,
                positions=1,
            )


ACCEPT_LITERAL = 'mutation { acceptCase(id: "$ID") { id } }'


def forged_tokens() -> dict[str, str | None]:
    now = int(time.time())
    claims = {
        "sub": "mallory",
        "jurisdiction": "53",
        "roles": ["leader", "handler"],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
    }
    stranger = SigningKey.generate("ES256", kid="xinfang-tests")  # same kid, other key
    unknown = SigningKey.generate("RS256", kid="unknown-key")
    township = User(TOWNSHIP, (Role.HANDLER,)).token()
    head, payload, signature = township.split(".")
    promoted = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    promoted["jurisdiction"] = "53"
    tampered = base64.urlsafe_b64encode(json.dumps(promoted).encode()).rstrip(b"=").decode()
    public_pem = KEY.public_jwk()["x"]
    unsigned_head = (
        base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT", "kid": KEY.kid}).encode())
        .rstrip(b"=")
        .decode()
    )
    unsigned_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    options: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE}
    return {
        "no token": None,
        "not a JWT": "not-a-token",
        "wrong key, same kid": stranger.mint(
            subject="m", jurisdiction="53", roles=["leader"], **options
        ),
        "unknown key": unknown.mint(subject="m", jurisdiction="53", roles=["leader"], **options),
        "expired": KEY.mint(subject="m", jurisdiction="53", roles=["leader"], ttl=-3600, **options),
        "HS256 with the public key": jwt.encode(
            claims, public_pem, algorithm="HS256", headers={"kid": KEY.kid}
        ),
        "alg none": f"{unsigned_head}.{unsigned_body}.",
        "jurisdiction claim rewritten": f"{head}.{tampered}.{signature}",
        "unknown jurisdiction": KEY.mint(
            subject="m", jurisdiction="99", roles=["leader"], **options
        ),
        "other audience": KEY.mint(
            subject="m", jurisdiction="53", roles=["leader"], issuer=ISSUER, audience="another-app"
        ),
        "other issuer": KEY.mint(
            subject="m",
            jurisdiction="53",
            roles=["leader"],
            issuer="https://evil.example",
            audience=AUDIENCE,
        ),
    }


def forged_attempts(platform: Platform) -> Iterator[Attempt]:
    everything = frozenset(NODES)
    for kind, token in forged_tokens().items():
        for code in NODES:
            yield Attempt(
                f"forged: {kind}",
                "forger",
                platform.gateway,
                {
                    "query": "query($c: ID!) { jurisdiction(code: $c) { stats { eventCount } } }",
                    "variables": {"c": code},
                },
                token,
                everything,
            )
            yield Attempt(
                f"forged: {kind}",
                "forger",
                f"{platform.services}/nodes/{code}/graphql",
                {"query": "{ stats { eventCount } cases { totalCount } }"},
                token,
                everything,
            )
            yield Attempt(
                f"forged: {kind}",
                "forger",
                f"{platform.services}/nodes/{code}/graphql",
                {"query": ACCEPT_LITERAL.replace("$ID", platform.cases[code])},
                token,
                everything,
            )
        yield Attempt(
            f"forged: {kind}",
            "forger",
            f"{platform.services}/tiers/county/graphql",
            {
                "query": entities_query(platform.tier_schemas[Tier.COUNTY]),
                "variables": {"r": [{"__typename": "Case", "id": platform.cases[COUNTY]}]},
            },
            token,
            everything,
        )


# -- the controls: what each user may do, must work ----------------------------------------------


async def controls(platform: Platform, user: User) -> int:
    """In-scope reads by every user; its own node's and every node below it."""
    allowed = 0
    token = user.token()
    below = [code for code in NODES if code.startswith(user.jurisdiction)]
    for code in below:
        body = (
            await platform.post(
                platform.gateway,
                {
                    "query": "query($c: ID!, $id: ID!) { jurisdiction(code: $c) "
                    "{ stats { eventCount } } case(id: $id) { id summary } }",
                    "variables": {"c": code, "id": platform.cases[code]},
                },
                token,
            )
        ).json()
        assert body["data"]["jurisdiction"]["stats"]["eventCount"] == 1
        analyst = user.roles == (Role.ANALYST,)  # aggregates only: no content (ADR 0018)
        if analyst:
            assert [e["extensions"]["code"] for e in body["errors"]] == ["AGGREGATES_ONLY"]
            assert body["data"]["case"] == {"id": platform.cases[code], "summary": None}
        else:
            assert "errors" not in body, (user, code, body)
            assert body["data"]["case"]["summary"] == marker(code)
        direct = (
            await platform.post(
                f"{platform.services}/nodes/{code}/graphql",
                {"query": "{ stats { eventCount } }"},
                token,
            )
        ).json()
        assert direct == {"data": {"stats": {"eventCount": 1}}}, (user, code, direct)
        entity = (
            await platform.post(
                f"{platform.services}/tiers/{tier_of(code).value.lower()}/graphql",
                {
                    "query": entities_query(platform.tier_schemas[tier_of(code)]),
                    "variables": {"r": [{"__typename": "Case", "id": platform.cases[code]}]},
                },
                token,
            )
        ).json()
        summary = None if analyst else marker(code)
        assert entity["data"]["_entities"][0]["summary"] == summary, (user, code, entity)
        allowed += 3
    if user.jurisdiction != PROVINCE:  # the climb, answered for what is in scope
        body = (
            await platform.post(
                platform.gateway,
                {
                    "query": "query($c: ID!) { jurisdiction(code: $c) { stats { eventCount } "
                    "parent { code name stats { eventCount } } } }",
                    "variables": {"c": user.jurisdiction},
                },
                token,
            )
        ).json()
        assert body["data"]["jurisdiction"]["stats"] == {"eventCount": 1}
        assert body["data"]["jurisdiction"]["parent"]["stats"] is None
        assert body["data"]["jurisdiction"]["parent"]["name"]  # public: the division's name
        [error] = body["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN"
        allowed += 1
    return allowed


async def handler_writes(platform: Platform) -> int:
    """Each node's own handler writes there: through the gateway and directly."""
    allowed = 0
    for code in NODES:
        handler = User(code, (Role.HANDLER,))
        accept = "mutation($id: ID!) { acceptCase(id: $id) { id status } }"
        body = (
            await platform.post(
                platform.gateway,
                {"query": accept, "variables": {"id": platform.cases[code]}},
                handler.token(),
            )
        ).json()
        assert body["data"]["acceptCase"]["status"] == "ACCEPTED", (code, body)
        begin = "mutation($id: ID!) { beginHandling(id: $id) { status } }"
        direct = (
            await platform.post(
                f"{platform.services}/nodes/{code}/graphql",
                {"query": begin, "variables": {"id": platform.cases[code]}},
                handler.token(),
            )
        ).json()
        assert direct == {"data": {"beginHandling": {"status": "HANDLING"}}}, (code, direct)
        allowed += 2
    return allowed


async def run_all(platform: Platform, attempts: Sequence[Attempt], tally: Tally) -> None:
    limit = asyncio.Semaphore(12)

    async def one(attempt: Attempt) -> None:
        async with limit:
            await judge(platform, attempt, tally)

    await asyncio.gather(*(one(a) for a in attempts))


async def test_no_role_at_any_tier_reads_or_writes_outside_its_scope(platform: Platform) -> None:
    tally = Tally()
    tally.allowed += await handler_writes(platform)
    before = {code: await snapshot(platform.engine, code) for code in NODES}

    attempts: list[Attempt] = []
    for user in USERS:
        attempts += gateway_attempts(platform, user)
        attempts += climbing_attempts(platform, user)
        attempts += node_attempts(platform, user)
        attempts += tier_attempts(platform, user)
    attempts += forged_attempts(platform)
    await run_all(platform, attempts, tally)

    after = {code: await snapshot(platform.engine, code) for code in NODES}
    print(f"\n{tally.denied} of {len(attempts)} attempts denied: {len(tally.failures)} not")
    assert tally.failures == [], "\n".join(tally.failures[:20])
    for user in USERS:
        tally.allowed += await controls(platform, user)

    surfaces = ", ".join(f"{k} {v}" for k, v in sorted(tally.by_surface.items()))
    print(
        f"\nisolation matrix: {len(USERS)} users (4 tiers x 4 roles), {len(attempts)} attempts "
        f"outside scope: {tally.denied} denied, {len(tally.failures)} not; leaks: "
        f"{sum(1 for f in tally.failures if f.startswith('LEAK'))}; in-scope controls allowed: "
        f"{tally.allowed}\n  {surfaces}"
    )
    assert tally.failures == [], "\n".join(tally.failures[:20])
    assert tally.denied == len(attempts)
    assert tally.denied >= 1000
    assert before == after, "a refused attempt wrote something"
    assert tally.allowed >= 50
