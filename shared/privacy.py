"""Personal data: who sees it clear, masked or not at all; ID numbers sealed at rest (ADR 0018).

The rules, the same at every node and so the same through the gateway (which only forwards):

- **Clear** only for a ``handler`` whose jurisdiction **is** the node holding the case (the
  owning node), and only with a stated ``purpose``; every clear read is written to that node's
  audit log before the values leave the resolver (``PURPOSE_REQUIRED`` without one).
- **Masked** for everyone else who may read the case: handlers elsewhere in scope, leaders,
  auditors. Masking forms: name 张** (first character of each ·-separated part), resident ID
  5301**********1234 (first 6, last 4), phone +86138****5678 (country code, first 3, last 4),
  address 云南省昆明市**** (the first 6 characters: province and city, nothing that finds a
  door).
- **Refused** (``AGGREGATES_ONLY``) for a caller whose only roles are ``analyst``: aggregates,
  no case-level personal data or petition content at all.
- **Accusations** (检举控告: a case naming the unit it accuses) never show their content
  (summary, events, petitioner, representatives) to a caller whose jurisdiction is the accused
  unit or lies inside it, its handlers included (``ACCUSATION_WITHHELD``; Regulation Arts. 18,
  30, 46).

ID numbers are stored sealed with AES-256-GCM under the province's key
(``XINFANG_ENCRYPTION_KEY``); the person key (HMAC of the normalised number,
``shared.validation.person_key``) stays the blind index repeat petitioners are matched by.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.auth import Principal, Role
from shared.errors import DomainError, ErrorCode, bad_input

__all__ = [
    "DEV_ENCRYPTION_KEY",
    "PURPOSE_MAX",
    "SEALED_PREFIX",
    "EncryptionKeyError",
    "IdCipher",
    "View",
    "accusation_withheld",
    "checked_purpose",
    "content_refusal",
    "mask_address",
    "personal_view",
    "withheld_error",
]

# The demo key (``xinfang run``, the tests): base64 of 32 bytes anyone can read in this file.
DEV_ENCRYPTION_KEY = base64.b64encode(
    hashlib.sha256(b"xinfang-development-encryption-key").digest()
).decode()
SEALED_PREFIX = "v1."
_AAD = b"xinfang:id_number:v1"
_NONCE = 12
PURPOSE_MAX = 200
ADDRESS_KEPT = 6

log = logging.getLogger("xinfang.privacy")
_warned: list[bool] = []


class EncryptionKeyError(ValueError):
    """``XINFANG_ENCRYPTION_KEY`` is unusable: a service refuses to start."""


class IdCipher:
    """Seals and opens ID numbers: AES-256-GCM, a fresh 96-bit nonce per value.

    A sealed value is ``v1.<key id>.<base64url(nonce || ciphertext || tag)>``: the prefix tells
    sealed from legacy plaintext (migration 0012 converts those), the key id (8 hex characters
    of an HMAC of the key) names the key, so a value sealed under another province's key or a
    rotated one fails with a clear error instead of garbage.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise EncryptionKeyError("the encryption key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)
        self.key_id = hmac.new(key, b"xinfang-key-id", hashlib.sha256).hexdigest()[:8]

    @classmethod
    def from_text(cls, text: str) -> IdCipher:
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except ValueError:
            raise EncryptionKeyError(
                "XINFANG_ENCRYPTION_KEY is not base64 (make one: "
                "python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())')"
            ) from None
        return cls(key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IdCipher:
        env = os.environ if environ is None else environ
        configured = env.get("XINFANG_ENCRYPTION_KEY")
        if not configured and not _warned:
            _warned.append(True)
            log.warning(
                "XINFANG_ENCRYPTION_KEY is not set: ID numbers are sealed with the public "
                "development key (for the local demo and tests only)"
            )
        return cls.from_text(configured or DEV_ENCRYPTION_KEY)

    @staticmethod
    def is_sealed(value: str) -> bool:
        return value.startswith(SEALED_PREFIX)

    def seal(self, value: str | None) -> str | None:
        if value is None or self.is_sealed(value):
            return value
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), _AAD)
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{SEALED_PREFIX}{self.key_id}.{body}"

    def open(self, value: str | None) -> str | None:
        """The clear value of a sealed one (a legacy plaintext value is returned as it is)."""
        if value is None or not self.is_sealed(value):
            return value
        try:
            key_id, body = value[len(SEALED_PREFIX) :].split(".", 1)
        except ValueError:
            raise EncryptionKeyError("a sealed ID number is malformed") from None
        if key_id != self.key_id:
            raise EncryptionKeyError(
                f"an ID number is sealed under key {key_id}, this service has key {self.key_id}"
            )
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], _AAD).decode("utf-8")
        except InvalidTag:
            raise EncryptionKeyError("a sealed ID number does not authenticate") from None


class View(StrEnum):
    CLEAR = "CLEAR"
    MASKED = "MASKED"


def _analyst_only(principal: Principal) -> bool:
    return principal.has(Role.ANALYST) and not (
        principal.roles & {Role.HANDLER, Role.LEADER, Role.AUDITOR}
    )


def content_refusal(principal: Principal | None) -> DomainError | None:
    """Why ``principal`` may not see a case's personal data or content at all; None if it may."""
    if principal is None:
        return DomainError(ErrorCode.UNAUTHENTICATED, "no caller: personal data is withheld")
    if _analyst_only(principal):
        return DomainError(
            ErrorCode.AGGREGATES_ONLY,
            "analysts see aggregates only: no case-level personal data or petition content",
        )
    return None


def personal_view(principal: Principal | None, node_code: str) -> View:
    """Clear or masked personal data of a case held at ``node_code``; raises when neither."""
    refused = content_refusal(principal)
    if refused is not None:
        raise refused
    assert principal is not None
    if principal.has(Role.HANDLER) and principal.jurisdiction == node_code:
        return View.CLEAR
    return View.MASKED


def accusation_withheld(principal: Principal | None, accused_unit: str | None) -> bool:
    """Whether a case accusing ``accused_unit`` must hide its content from ``principal``: the
    caller works at the accused unit or inside it."""
    if accused_unit is None:
        return False
    return principal is None or principal.jurisdiction.startswith(accused_unit)


def withheld_error(accused_unit: str) -> DomainError:
    return DomainError(
        ErrorCode.ACCUSATION_WITHHELD,
        f"this case is an accusation against {accused_unit}: its content is never shown "
        "to the unit it accuses (Regulation Arts. 30, 46)",
    )


def checked_purpose(purpose: str | None) -> str:
    """The stated purpose of a clear read; PURPOSE_REQUIRED when there is none."""
    if purpose is None or not purpose.strip():
        raise DomainError(
            ErrorCode.PURPOSE_REQUIRED,
            "clear personal data is read only for a stated purpose: pass purpose "
            '(e.g. petitioner(purpose: "reply by phone"))',
            field="purpose",
        )
    stated = purpose.strip()
    if len(stated) > PURPOSE_MAX:
        raise bad_input(f"a purpose is at most {PURPOSE_MAX} characters", "purpose")
    return stated


def mask_address(value: str) -> str:
    """云南省昆明市****: the first six characters, then four '*' whatever the length (the
    length would tell one address from another)."""
    address = value.strip()
    kept = address[:ADDRESS_KEPT] if len(address) > ADDRESS_KEPT + 2 else ""
    return kept + "****"


@dataclass(frozen=True)
class AuditRead:
    """One clear read of personal data, as the audit log records it."""

    case_id: str
    record: str  # petitioner, representatives
    fields: tuple[str, ...]
    purpose: str
