"""Errors a caller can act on, each with a stable code (GraphQL ``extensions.code``)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    DEADLINE_PASSED = "DEADLINE_PASSED"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    NO_REACCEPTANCE = "NO_REACCEPTANCE"  # 不再受理: the matter reached three-tier finality
    PENDING_BELOW = "PENDING_BELOW"  # 不予受理: the matter is still pending at a node below
    SKIP_LEVEL = "SKIP_LEVEL"  # 越级走访: refused and sent down to the competent node
    TOO_MANY_REPRESENTATIVES = "TOO_MANY_REPRESENTATIVES"  # a collective visit sends at most 5
    CONFLICT = "CONFLICT"
    WRONG_NODE = "WRONG_NODE"
    CASE_NOT_FOUND = "CASE_NOT_FOUND"  # the trail index never heard of the case
    UNAUTHENTICATED = "UNAUTHENTICATED"  # no valid token (shared.auth)
    FORBIDDEN = "FORBIDDEN"  # a valid token, outside its scope (shared.access)
    ALREADY_CONVERTED = "ALREADY_CONVERTED"  # a 12345 ticket already became a petition
    # Personal data (shared.privacy, ADR 0018)
    AGGREGATES_ONLY = "AGGREGATES_ONLY"  # an analyst asked for case-level personal data
    PURPOSE_REQUIRED = "PURPOSE_REQUIRED"  # a clear read of personal data states no purpose
    ACCUSATION_WITHHELD = "ACCUSATION_WITHHELD"  # the caller works at the unit it accuses
    ACCUSED_UNIT = "ACCUSED_UNIT"  # an accusation is never routed to the unit it accuses
    AUDITORS_ONLY = "AUDITORS_ONLY"  # the audit log is for auditors


class DomainError(Exception):
    """A rule of petition work refused the request; nothing was written."""

    def __init__(self, code: ErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"DomainError({self.code.value}, {self.message!r})"


def bad_input(message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.BAD_USER_INPUT, message, field=field)
