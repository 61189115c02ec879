"""Acting as a user in tests: tokens from one test key that every service in the suite trusts.

Importing this module (``tests/conftest.py`` does, first) makes a fresh ES256 key, writes its
public set to a temporary file and points ``XINFANG_JWKS`` (and ``XINFANG_ISSUER``,
``XINFANG_AUDIENCE``) at it, so every app the tests build, in-process or in a subprocess,
verifies tokens exactly as in production, against this key.

- ``User(jurisdiction, roles, subject)``: who acts; ``user.token()``, ``user.headers()``.
- ``ActAs(user)``: an ``httpx.Auth`` for clients. Without a user it picks the natural one per
  request: a handler of the node for ``/nodes/{code}/...`` (subject ``handler@{code}``, the
  actor the node records), a province leader (53) for ``/tiers/...`` and the gateway's
  ``/graphql``. An explicit ``authorization`` header on a request wins.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import httpx

from shared.auth import Role, SigningKey, StaticKeys, TokenVerifier

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "KEY",
    "PROVINCE_LEADER",
    "ActAs",
    "User",
    "handler",
    "leader",
    "suite_verifier",
]

ISSUER = "https://idp.xinfang-tests.example"
AUDIENCE = "xinfang"
KEY = SigningKey.generate("ES256", kid="xinfang-tests")

_folder = Path(tempfile.mkdtemp(prefix="xinfang-test-keys-"))
KEY.save(_folder)
atexit.register(shutil.rmtree, _folder, True)
os.environ["XINFANG_JWKS"] = str(_folder / "jwks.json")
os.environ["XINFANG_ISSUER"] = ISSUER
os.environ["XINFANG_AUDIENCE"] = AUDIENCE

_NODE_PATH = re.compile(r"^/nodes/(\d+)/")


@dataclass(frozen=True)
class User:
    jurisdiction: str
    roles: Sequence[Role] = (Role.HANDLER,)
    subject: str | None = None
    ttl: float = 4 * 3600.0
    extra: tuple[tuple[str, object], ...] = field(default=())

    @property
    def name(self) -> str:
        return self.subject or f"{self.roles[0].value}@{self.jurisdiction}"

    def token(self) -> str:
        return _token(self)

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token()}"}


@lru_cache(maxsize=4096)
def _token(user: User) -> str:
    return KEY.mint(
        subject=user.name,
        jurisdiction=user.jurisdiction,
        roles=list(user.roles),
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl=user.ttl,
        extra=dict(user.extra),
    )


def handler(code: str, subject: str | None = None) -> User:
    return User(code, (Role.HANDLER,), subject)


def leader(code: str) -> User:
    return User(code, (Role.LEADER,))


PROVINCE_LEADER = leader("53")


def default_user(path: str) -> User:
    """Who a request to ``path`` comes from when the test did not say."""
    found = _NODE_PATH.match(path)
    if found is not None:
        return handler(found.group(1))
    return PROVINCE_LEADER


class ActAs(httpx.Auth):
    def __init__(self, user: User | None = None) -> None:
        self.user = user

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if "authorization" not in request.headers:
            user = self.user or default_user(request.url.path)
            request.headers["authorization"] = f"Bearer {user.token()}"
        yield request


def suite_verifier() -> TokenVerifier:
    """A verifier of the test key (what ``XINFANG_JWKS`` gives, without the file)."""
    return TokenVerifier(StaticKeys(KEY.jwks()), ISSUER, AUDIENCE)
