"""Tokens: RS256/ES256 verified against a JWKS (static, file, or an OIDC issuer over HTTP)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.auth import (
    AuthError,
    FileKeys,
    IssuerKeys,
    Principal,
    Role,
    SigningKey,
    StaticKeys,
    TokenVerifier,
    bearer_token,
)
from shared.cli import main as cli_main
from tests.gateway.servers import serving

ISSUER = "https://idp.example.test/realms/yunnan"
AUDIENCE = "xinfang"


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.generate("RS256", kid="rsa-1")


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey.generate("ES256", kid="ec-1")


def verifier_for(*keys: SigningKey) -> TokenVerifier:
    document = {"keys": [k.public_jwk() for k in keys]}
    return TokenVerifier(StaticKeys(document), issuer=ISSUER, audience=AUDIENCE, leeway=5)


def mint(key: SigningKey, **overrides: Any) -> str:
    options: dict[str, Any] = {
        "subject": "li.ming",
        "jurisdiction": "5301",
        "roles": [Role.LEADER],
        "issuer": ISSUER,
        "audience": AUDIENCE,
    }
    options.update(overrides)
    return key.mint(**options)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_a_token_signed_with_a_published_key_gives_its_principal(
    algorithm: str, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    key = rsa_key if algorithm == "RS256" else ec_key
    token = mint(key, roles=[Role.LEADER, Role.ANALYST], jurisdiction="530102")
    principal = await verifier_for(rsa_key, ec_key).verify(token)
    assert principal.subject == "li.ming"
    assert principal.jurisdiction == "530102"
    assert principal.roles == frozenset({Role.LEADER, Role.ANALYST})
    assert principal.token_id is not None
    assert principal.expires_at is not None
    assert principal.expires_at > time.time()


async def test_an_expired_token_is_refused(ec_key: SigningKey) -> None:
    token = mint(ec_key, ttl=60, now=time.time() - 3600)
    with pytest.raises(AuthError, match="expired") as refused:
        await verifier_for(ec_key).verify(token)
    assert refused.value.code == "UNAUTHENTICATED"


async def test_expiry_allows_the_configured_clock_leeway(ec_key: SigningKey) -> None:
    token = mint(ec_key, ttl=60, now=time.time() - 62)  # expired 2 s ago, leeway 5 s
    principal = await verifier_for(ec_key).verify(token)
    assert principal.subject == "li.ming"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"issuer": "https://elsewhere.test"}, "another issuer"),
        ({"audience": "some-other-app"}, "another audience"),
    ],
)
async def test_a_token_for_another_issuer_or_audience_is_refused(
    ec_key: SigningKey, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(AuthError, match=message):
        await verifier_for(ec_key).verify(mint(ec_key, **overrides))


async def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(
    ec_key: SigningKey,
) -> None:
    impostor = SigningKey.generate("ES256", kid=ec_key.kid)
    with pytest.raises(AuthError, match="signature does not verify"):
        await verifier_for(ec_key).verify(mint(impostor))


async def test_a_token_under_an_unknown_kid_is_refused(ec_key: SigningKey) -> None:
    stranger = SigningKey.generate("ES256", kid="never-published")
    with pytest.raises(AuthError, match="does not know"):
        await verifier_for(ec_key).verify(mint(stranger))


async def test_shared_secret_and_unsigned_tokens_are_refused(ec_key: SigningKey) -> None:
    claims = {
        "sub": "x",
        "jurisdiction": "53",
        "roles": ["leader"],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
    }
    hmac = jwt.encode(claims, "s" * 32, algorithm="HS256", headers={"kid": ec_key.kid})
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": ec_key.kid})
    for token in (hmac, unsigned):
        with pytest.raises(AuthError, match="RS256 or ES256"):
            await verifier_for(ec_key).verify(token)


async def test_a_token_whose_algorithm_differs_from_its_key_is_refused(
    rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    # An RS256 token naming the EC key's id.
    lying = SigningKey(rsa_key.private_pem, ec_key.kid, "RS256")
    with pytest.raises(AuthError, match="does not match its key"):
        await verifier_for(rsa_key, ec_key).verify(mint(lying))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"jurisdiction": "539999"}, "no known jurisdiction"),
        ({"jurisdiction": "not-a-code"}, "no known jurisdiction"),
        ({"roles": []}, "grants no roles"),
        ({"roles": ["admin"]}, "unknown role"),
        ({"subject": "  "}, "subject"),
    ],
)
async def test_a_token_with_bad_claims_is_refused(
    ec_key: SigningKey, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(AuthError, match=message):
        await verifier_for(ec_key).verify(mint(ec_key, **overrides))


async def test_garbage_is_not_a_token(ec_key: SigningKey) -> None:
    with pytest.raises(AuthError, match="not a JWT"):
        await verifier_for(ec_key).verify("not.a.token")


@pytest.mark.parametrize(
    ("header", "ok"),
    [("Bearer abc.def.ghi", True), ("bearer abc", True), ("Basic dXNlcg==", False), ("", False)],
)
def test_the_authorization_header_must_be_a_bearer_token(header: str, ok: bool) -> None:
    if ok:
        assert bearer_token(header) == header.split(" ", 1)[1]
    else:
        with pytest.raises(AuthError):
            bearer_token(header or None)


def test_a_principal_covers_its_own_subtree_only() -> None:
    city = Principal("u", "5301", frozenset({Role.LEADER}))
    assert city.covers("5301")
    assert city.covers("530102")
    assert city.covers("530102001")
    assert not city.covers("5303")
    assert not city.covers("53")
    assert not city.covers("5301xx")


async def test_a_jwks_file_is_reread_when_rotated(tmp_path: Path, ec_key: SigningKey) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(ec_key.jwks()))
    verifier = TokenVerifier(FileKeys(path), issuer=ISSUER, audience=AUDIENCE)
    assert (await verifier.verify(mint(ec_key))).subject == "li.ming"
    rotated = SigningKey.generate("RS256", kid="rsa-rotated")
    path.write_text(json.dumps(rotated.jwks()))
    # Make sure the change is visible even on a coarse-grained file system clock.
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    assert (await verifier.verify(mint(rotated))).subject == "li.ming"
    with pytest.raises(AuthError, match="does not know"):
        await verifier.verify(mint(ec_key))


class IdentityProvider:
    """A real HTTP OIDC issuer: discovery document and JWKS, with rotation and outages."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.up = True
        self.jwks_requests = 0
        self.base = ""

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse({"issuer": self.base, "jwks_uri": f"{self.base}/certs"})

        async def certs(request: Request) -> Response:
            self.jwks_requests += 1
            if not self.up:
                return JSONResponse({"error": "down"}, status_code=503)
            return JSONResponse({"keys": [k.public_jwk() for k in self.keys]})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/certs", certs),
            ]
        )


@pytest.fixture
async def idp(ec_key: SigningKey) -> AsyncIterator[IdentityProvider]:
    provider = IdentityProvider(ec_key)
    async with serving(provider.app()) as base:
        provider.base = base
        yield provider


async def test_keys_come_from_the_issuers_discovery_document_and_follow_rotation(
    idp: IdentityProvider, ec_key: SigningKey
) -> None:
    async with httpx.AsyncClient() as client:
        keys = IssuerKeys(idp.base, client, refresh_interval=0.0)
        verifier = TokenVerifier(keys, issuer=idp.base, audience=AUDIENCE)
        assert (await verifier.verify(mint(ec_key, issuer=idp.base))).subject == "li.ming"
        assert (await verifier.verify(mint(ec_key, issuer=idp.base))).subject == "li.ming"
        assert idp.jwks_requests == 1  # cached
        rotated = SigningKey.generate("RS256", kid="rsa-2")
        idp.keys.append(rotated)
        principal = await verifier.verify(mint(rotated, issuer=idp.base, subject="wang"))
        assert principal.subject == "wang"
        assert idp.jwks_requests == 2  # refetched once for the unknown kid


async def test_cached_keys_keep_working_while_the_issuer_is_down(
    idp: IdentityProvider, ec_key: SigningKey
) -> None:
    async with httpx.AsyncClient() as client:
        keys = IssuerKeys(idp.base, client, refresh_interval=0.0)
        verifier = TokenVerifier(keys, issuer=idp.base, audience=AUDIENCE)
        await verifier.verify(mint(ec_key, issuer=idp.base))
        idp.up = False
        assert (await verifier.verify(mint(ec_key, issuer=idp.base))).subject == "li.ming"
        stranger = SigningKey.generate("ES256", kid="unknown-while-down")
        with pytest.raises(AuthError, match="does not know"):
            await verifier.verify(mint(stranger, issuer=idp.base))


async def test_an_unreachable_issuer_without_cached_keys_is_a_clear_error(
    ec_key: SigningKey,
) -> None:
    async with httpx.AsyncClient() as client:
        keys = IssuerKeys("http://127.0.0.1:9", client)
        verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
        with pytest.raises(AuthError) as refused:
            await verifier.verify(mint(ec_key))
    assert refused.value.code == "AUTH_UNAVAILABLE"


async def test_the_token_command_mints_tokens_that_verify_against_its_jwks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XINFANG_ISSUER", ISSUER)
    monkeypatch.setenv("XINFANG_AUDIENCE", AUDIENCE)
    folder = tmp_path / "keys"
    code = cli_main(
        ["token", "--keys", str(folder), "--jurisdiction", "530102", "--role", "handler"]
    )
    assert code == 0
    token = capsys.readouterr().out.strip()
    assert (folder / "signing-key.pem").stat().st_mode & 0o077 == 0
    verifier = TokenVerifier(FileKeys(folder / "jwks.json"), issuer=ISSUER, audience=AUDIENCE)
    principal = await verifier.verify(token)
    assert principal.jurisdiction == "530102"
    assert principal.roles == frozenset({Role.HANDLER})
    assert principal.subject == "demo-handler@530102"
    # A second call reuses the key.
    assert (
        cli_main(["token", "--keys", str(folder), "--jurisdiction", "53", "--role", "leader"]) == 0
    )
    again = capsys.readouterr().out.strip()
    assert (await verifier.verify(again)).jurisdiction == "53"


def test_the_token_command_refuses_an_unknown_jurisdiction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["token", "--keys", str(tmp_path), "--jurisdiction", "99", "--role", "leader"])
    assert code == 2
    assert "no jurisdiction 99" in capsys.readouterr().err


class SteppedClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_a_verified_token_is_remembered_for_a_minute_at_most_and_never_past_expiry(
    tmp_path: Path, ec_key: SigningKey
) -> None:
    """The same token again is not decoded again (the key set can change meanwhile and the
    token still passes, for ``remember`` seconds); after that, or past its expiry, it is
    verified afresh."""
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(ec_key.jwks()))
    clock = SteppedClock()
    verifier = TokenVerifier(FileKeys(path), ISSUER, AUDIENCE, leeway=5, clock=clock)
    token = mint(ec_key, ttl=600)
    first = await verifier.verify(token)
    path.write_text(json.dumps(SigningKey.generate("ES256", kid="other").jwks()))
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    clock.now += 59
    assert await verifier.verify(token) is first  # remembered: the key set is not read
    clock.now += 2
    with pytest.raises(AuthError, match="does not know"):
        await verifier.verify(token)  # a minute on: verified again, against the new keys

    short = mint(ec_key, ttl=20)
    path.write_text(json.dumps(ec_key.jwks()))
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))
    clock.now = time.time()
    principal = await verifier.verify(short)
    assert principal.expires_at is not None
    remembered_until = verifier._verified[short][1]
    assert remembered_until == principal.expires_at + 5  # its expiry and leeway, not a minute


async def test_remembering_can_be_turned_off_and_is_bounded(ec_key: SigningKey) -> None:
    off = TokenVerifier(StaticKeys(ec_key.jwks()), ISSUER, AUDIENCE, remember=0)
    await off.verify(mint(ec_key))
    assert not off._verified
    bounded = TokenVerifier(StaticKeys(ec_key.jwks()), ISSUER, AUDIENCE, remembered_tokens=3)
    for _ in range(5):
        await bounded.verify(mint(ec_key))
    assert len(bounded._verified) == 3
