"""Who may do what, decided the same way at the gateway and at every node (ADR 0015).

A user's token (``shared.auth``) gives a ``Principal``: a jurisdiction and roles. The rules:

- *read* a node's data only when the node lies in the caller's subtree (``covers``);
- *write* at a node (every mutation) only as a ``handler`` whose jurisdiction **is** that node:
  upper tiers act on lower nodes through the message flows (review, supervision, assignment),
  never by editing their rows; leaders, analysts and auditors never write.

Nodes talk to each other (messages, the matter index) as services, not as users: each request
is signed with the platform's service secret (``XINFANG_SERVICE_SECRET``) under a key derived
for the sending node, over the purpose, sender, recipient and body (``NodeCredential``). The
recipient checks that the sender the request names is the sender that signed it and that the
request was meant for it; a copy sent to another node does not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.auth import AuthError, AuthSettings, Principal, Role, SigningKey, TokenVerifier
from shared.auth import key_source as jwks_source
from shared.settings import Settings

__all__ = [
    "DEV_SERVICE_SECRET",
    "FORBIDDEN",
    "NODE_HEADER",
    "SIGNATURE_HEADER",
    "NodeCredential",
    "demo_jwks",
    "read_refusal",
    "verifier_from_env",
    "write_refusal",
]

log = logging.getLogger("xinfang.access")

FORBIDDEN = "FORBIDDEN"
NODE_HEADER = "x-xinfang-node"
SIGNATURE_HEADER = "x-xinfang-signature"
DEV_SERVICE_SECRET = "xinfang-development-service-secret"


def read_refusal(principal: Principal, code: str) -> str | None:
    """Why ``principal`` may not read node ``code``'s data; None when it may."""
    if principal.covers(code):
        return None
    return f"jurisdiction {code} is outside your jurisdiction {principal.jurisdiction}"


def write_refusal(principal: Principal, code: str) -> str | None:
    """Why ``principal`` may not write at node ``code``; None when it may."""
    if not principal.has(Role.HANDLER):
        return "only a handler writes: this token grants no handler role"
    if principal.jurisdiction != code:
        return (
            f"writes at node {code} are for its own handlers (you handle at "
            f"{principal.jurisdiction}); other nodes act through messages"
        )
    return None


def demo_jwks(data_dir: Path) -> Path:
    """The local demo key's public set (``xinfang token`` mints with its private half),
    made on first use."""
    folder = data_dir / "keys"
    if not (folder / "signing-key.pem").is_file():
        SigningKey.generate("ES256").save(folder)
        log.warning("made a demo signing key in %s (for the local demo only)", folder)
    return folder / "jwks.json"


def verifier_from_env(environ: Mapping[str, str] | None = None) -> TokenVerifier:
    """The verifier ``XINFANG_JWKS`` (a JWKS file or an issuer URL), ``XINFANG_ISSUER`` and
    ``XINFANG_AUDIENCE`` name; without ``XINFANG_JWKS``, the local demo key's set."""
    env = os.environ if environ is None else environ
    auth = AuthSettings.from_env(dict(env))
    jwks = auth.jwks or str(demo_jwks(Settings.from_env(dict(env)).data_dir))
    return TokenVerifier(jwks_source(jwks), auth.issuer, auth.audience, auth.leeway)


@dataclass(frozen=True)
class NodeCredential:
    """The service credential nodes sign their requests to each other with."""

    secret: bytes

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NodeCredential:
        env = os.environ if environ is None else environ
        return cls(env.get("XINFANG_SERVICE_SECRET", DEV_SERVICE_SECRET).encode())

    def _signature(self, purpose: str, sender: str, recipient: str, body: bytes) -> str:
        node_key = hmac.new(self.secret, f"xinfang-node:{sender}".encode(), hashlib.sha256)
        signed = f"{purpose}\n{sender}\n{recipient}\n".encode() + body
        return hmac.new(node_key.digest(), signed, hashlib.sha256).hexdigest()

    def headers(self, purpose: str, sender: str, recipient: str, body: bytes) -> dict[str, str]:
        """What a request from ``sender`` to ``recipient`` carrying ``body`` is sent with."""
        return {
            NODE_HEADER: sender,
            SIGNATURE_HEADER: self._signature(purpose, sender, recipient, body),
            "content-type": "application/json",
        }

    def sender(self, purpose: str, recipient: str, headers: Mapping[str, str], body: bytes) -> str:
        """The node that signed this request to ``recipient``; AuthError when none did."""
        sender = headers.get(NODE_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if not sender or not signature:
            raise AuthError("a node's request must be signed (x-xinfang-node, -signature)")
        expected = self._signature(purpose, sender, recipient, body)
        if not hmac.compare_digest(expected, signature.strip()):
            raise AuthError(f"the signature does not verify for node {sender} to {recipient}")
        return sender
