"""Who is asking: JWTs (RS256 or ES256) verified against a JWKS, and the principal they carry.

A token names its subject (``sub``), the user's jurisdiction (a division code, claim
``jurisdiction``) and roles (claim ``roles``: ``leader``, ``handler``, ``analyst``,
``auditor``). The keys come from a JWKS file or from an OIDC issuer (its
``/.well-known/openid-configuration`` names the ``jwks_uri``), refetched when a token names a
key id the cached set lacks (key rotation), at most once per ``refresh_interval``.

Only asymmetric algorithms are accepted: a shared-secret (HS*) or unsigned (``none``) token is
refused whatever key it names, so a public key can never be used as an HMAC secret.

The gateway verifies at the edge and every node verifies again: nothing here trusts a header
the gateway added.
"""

from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt import PyJWK, PyJWKSet

from shared.divisions import division_tree

__all__ = [
    "ALGORITHMS",
    "AuthError",
    "AuthSettings",
    "FileKeys",
    "IssuerKeys",
    "KeySource",
    "Principal",
    "Role",
    "SigningKey",
    "StaticKeys",
    "TokenVerifier",
    "bearer_token",
    "connection_token",
]

ALGORITHMS = ("RS256", "ES256")
UNAUTHENTICATED = "UNAUTHENTICATED"


class Role(StrEnum):
    LEADER = "leader"  # sees figures and case detail of the subtree (masked personal data)
    HANDLER = "handler"  # works the cases of its own node
    ANALYST = "analyst"  # aggregates only
    AUDITOR = "auditor"  # reads the audit log


class AuthError(Exception):
    """The request carries no valid token. ``code`` is the GraphQL ``extensions.code``."""

    def __init__(self, message: str, code: str = UNAUTHENTICATED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Principal:
    subject: str
    jurisdiction: str
    roles: frozenset[Role]
    token_id: str | None = None
    expires_at: float | None = None

    def has(self, role: Role) -> bool:
        return role in self.roles

    def covers(self, code: str) -> bool:
        """Whether ``code`` lies in this user's subtree (their own node included).

        Division codes nest by prefix: 53 ⊃ 5301 ⊃ 530102 ⊃ 530102001.
        """
        return code.isdigit() and code.startswith(self.jurisdiction)


@dataclass(frozen=True)
class AuthSettings:
    issuer: str
    audience: str
    jwks: str | None  # a JWKS file's path, or an issuer URL (OIDC discovery); None: auth off
    leeway: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthSettings:
        env = os.environ if environ is None else environ
        return cls(
            issuer=env.get("XINFANG_ISSUER", "xinfang-demo"),
            audience=env.get("XINFANG_AUDIENCE", "xinfang"),
            jwks=env.get("XINFANG_JWKS") or None,
            leeway=float(env.get("XINFANG_TOKEN_LEEWAY", "30")),
        )


class KeySource(Protocol):
    async def keys(self, *, refresh: bool = False) -> PyJWKSet:
        """The current key set; ``refresh`` asks for a fresh copy (a key id was unknown)."""
        ...


def _key_set(document: Any, origin: str) -> PyJWKSet:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise AuthError(f"{origin} is not a JWKS document", code="AUTH_MISCONFIGURED")
    usable = [k for k in document["keys"] if isinstance(k, dict) and k.get("kty") in ("RSA", "EC")]
    try:
        return PyJWKSet(usable)
    except jwt.PyJWTError as error:
        raise AuthError(f"{origin} holds no usable key: {error}", "AUTH_MISCONFIGURED") from None


@dataclass
class StaticKeys:
    document: dict[str, Any]
    _parsed: PyJWKSet | None = field(default=None, repr=False, compare=False)

    async def keys(self, *, refresh: bool = False) -> PyJWKSet:
        if self._parsed is None:  # the document never changes: its keys are parsed once
            self._parsed = _key_set(self.document, "the key set")
        return self._parsed


@dataclass
class FileKeys:
    """A JWKS file, re-read when it changes on disk (rotation by replacing the file)."""

    path: Path
    _loaded: tuple[float, PyJWKSet] | None = None

    async def keys(self, *, refresh: bool = False) -> PyJWKSet:
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            raise AuthError(f"no JWKS file at {self.path}", "AUTH_MISCONFIGURED") from None
        if self._loaded is None or self._loaded[0] != mtime:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            self._loaded = (mtime, _key_set(document, str(self.path)))
        return self._loaded[1]


@dataclass
class IssuerKeys:
    """The keys an OIDC identity provider publishes, found through its discovery document."""

    issuer: str
    client: httpx.AsyncClient
    max_age: float = 600.0
    refresh_interval: float = 30.0
    _jwks_uri: str | None = None
    _cached: tuple[float, PyJWKSet] | None = None

    async def keys(self, *, refresh: bool = False) -> PyJWKSet:
        now = time.monotonic()
        if self._cached is not None:
            age = now - self._cached[0]
            if age < self.max_age and not (refresh and age >= self.refresh_interval):
                return self._cached[1]
        try:
            if self._jwks_uri is None:
                url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
                discovery = (await self.client.get(url, timeout=5.0)).raise_for_status().json()
                self._jwks_uri = str(discovery["jwks_uri"])
            document = (await self.client.get(self._jwks_uri, timeout=5.0)).raise_for_status()
            keys = _key_set(document.json(), self._jwks_uri)
        except (httpx.HTTPError, ValueError, KeyError) as error:
            if self._cached is not None:  # keep serving with the keys we have
                return self._cached[1]
            raise AuthError(
                f"the identity provider's keys could not be fetched ({type(error).__name__})",
                code="AUTH_UNAVAILABLE",
            ) from None
        self._cached = (now, keys)
        return keys


@dataclass
class TokenVerifier:
    """Verifies bearer tokens; a token verified once is trusted again, without decoding or
    checking its signature, for ``remember`` seconds at most and never past its expiry (a
    dashboard sends the same token with every request, to the gateway and again to every node
    it asks; verifying costs ~0.5 ms each time). A key withdrawn from the key set therefore
    stops working within ``remember`` seconds, not at once; 0 turns the memory off."""

    keys: KeySource
    issuer: str
    audience: str
    leeway: float = 30.0
    clock: Any = field(default=time.time)
    remember: float = 60.0
    remembered_tokens: int = 4096
    _verified: OrderedDict[str, tuple[Principal, float]] = field(
        default_factory=OrderedDict, repr=False, compare=False
    )

    async def verify(self, token: str) -> Principal:
        now = self.clock()
        known = self._verified.get(token)
        if known is not None:
            principal, until = known
            if now < until:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal = await self._verify(token)
        if self.remember > 0 and principal.expires_at is not None:
            until = min(now + self.remember, principal.expires_at + self.leeway)
            self._verified[token] = (principal, until)
            if len(self._verified) > self.remembered_tokens:
                self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("the token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise AuthError(f"tokens must be signed with {' or '.join(ALGORITHMS)}")
        key = await self._key(header.get("kid"), algorithm)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise AuthError("the token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise AuthError("the token's signature does not verify") from None
        except jwt.PyJWTError as error:
            raise AuthError(f"the token is not valid: {error}") from None
        return principal_from_claims(claims)

    async def _key(self, kid: Any, algorithm: str) -> PyJWK:
        if not isinstance(kid, str):
            raise AuthError("the token names no key id (kid)")
        for refresh in (False, True):
            found = _find(await self.keys.keys(refresh=refresh), kid)
            if found is not None:
                if found.algorithm_name != algorithm:
                    raise AuthError("the token's algorithm does not match its key")
                return found
        raise AuthError("the token is signed with a key this platform does not know")


def _find(keys: PyJWKSet, kid: str) -> PyJWK | None:
    for key in keys.keys:
        if key.key_id == kid:
            return key
    return None


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 200:
        raise AuthError("the token's subject is missing or malformed")
    code = claims.get("jurisdiction")
    if not isinstance(code, str) or division_tree().get(code) is None:
        raise AuthError("the token names no known jurisdiction")
    raw_roles = claims.get("roles")
    if not isinstance(raw_roles, list) or not raw_roles:
        raise AuthError("the token grants no roles")
    try:
        roles = frozenset(Role(r) for r in raw_roles)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise AuthError(f"the token names an unknown role (known: {known})") from None
    token_id = claims.get("jti")
    expires = claims.get("exp")
    return Principal(
        subject=subject.strip(),
        jurisdiction=code,
        roles=roles,
        token_id=token_id if isinstance(token_id, str) else None,
        expires_at=float(expires) if isinstance(expires, (int, float)) else None,
    )


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header."""
    if not authorization:
        raise AuthError("sign in: this request carries no token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def connection_token(params: Any) -> str:
    """The bearer token a connection_init payload carries (``authorization: Bearer …`` as a
    header would, or ``token``); AuthError when there is none."""
    if isinstance(params, dict):
        for name in ("authorization", "Authorization"):
            if isinstance(params.get(name), str):
                return bearer_token(params[name])
        if isinstance(params.get("token"), str) and params["token"].strip():
            return str(params["token"]).strip()
    raise AuthError("sign in: the connection_init payload carries authorization: Bearer <token>")


@dataclass(frozen=True)
class SigningKey:
    """A local signing key for the demo and the tests (`xinfang token`)."""

    private_pem: bytes
    kid: str
    algorithm: str

    @classmethod
    def generate(cls, algorithm: str = "ES256", kid: str | None = None) -> SigningKey:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm is one of {ALGORITHMS}")
        private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        if algorithm == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(pem, kid or f"{algorithm.lower()}-{os.urandom(4).hex()}", algorithm)

    def public_jwk(self) -> dict[str, Any]:
        private = serialization.load_pem_private_key(self.private_pem, password=None)
        public = private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            text = jwt.algorithms.RSAAlgorithm.to_jwk(public)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            text = jwt.algorithms.ECAlgorithm.to_jwk(public)
        else:
            raise ValueError("a signing key is RSA or EC")
        jwk: dict[str, Any] = json.loads(text)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def mint(
        self,
        *,
        subject: str,
        jurisdiction: str,
        roles: Sequence[Role | str],
        issuer: str,
        audience: str,
        ttl: float = 3600.0,
        now: float | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        issued = time.time() if now is None else now
        claims: dict[str, Any] = {
            "sub": subject,
            "jurisdiction": jurisdiction,
            "roles": [str(r) for r in roles],
            "iss": issuer,
            "aud": audience,
            "iat": int(issued),
            "exp": int(issued + ttl),
            "jti": os.urandom(8).hex(),
            **(extra or {}),
        }
        return jwt.encode(
            claims, self.private_pem, algorithm=self.algorithm, headers={"kid": self.kid}
        )

    def save(self, folder: Path) -> None:
        """``signing-key.pem`` (owner-only) and ``jwks.json`` (the public half) in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        private = folder / "signing-key.pem"
        private.write_bytes(self.private_pem)
        private.chmod(0o600)
        (folder / "signing-key.json").write_text(
            json.dumps({"kid": self.kid, "alg": self.algorithm}), encoding="utf-8"
        )
        (folder / "jwks.json").write_text(json.dumps(self.jwks(), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> SigningKey:
        meta = json.loads((folder / "signing-key.json").read_text(encoding="utf-8"))
        return cls((folder / "signing-key.pem").read_bytes(), str(meta["kid"]), str(meta["alg"]))


def key_source(jwks: str, client: httpx.AsyncClient | None = None) -> KeySource:
    """``XINFANG_JWKS`` as a key source: an ``http(s)://`` issuer, else a JWKS file."""
    if jwks.startswith(("http://", "https://")):
        return IssuerKeys(jwks, client or httpx.AsyncClient())
    return FileKeys(Path(jwks))
