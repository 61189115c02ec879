"""Every case of the federation suite."""

from __future__ import annotations

from tests.gateway.federation.case import Case
from tests.gateway.federation.cases import (
    abstract,
    errors,
    fetching,
    keys,
    operations,
    provides,
    requires,
    sharing,
)

CASES: list[Case] = [
    *keys.CASES,
    *requires.CASES,
    *provides.CASES,
    *sharing.CASES,
    *abstract.CASES,
    *operations.CASES,
    *errors.CASES,
    *fetching.CASES,
]
