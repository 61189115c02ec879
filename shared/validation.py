"""Validation, normalisation and masking of petitioner and case input.

Each ``validate_*`` function returns the normalised value or raises
:class:`ValidationFailed`. Error messages never repeat the rejected value, so
they are safe to log (ID numbers and phones are personal data, see PIPL Art. 28).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Any

from shared.divisions import division_tree

__all__ = [
    "ADDRESS_MAX",
    "ADDRESS_MIN",
    "CATEGORY_MAX",
    "NAME_MAX",
    "NUL_REFUSED",
    "PERSON_COUNT_MAX",
    "REASON_MAX",
    "SUMMARY_MAX",
    "ValidationFailed",
    "carries_nul",
    "id_check_char",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "normalise_id_for_key",
    "person_key",
    "upgrade_legacy_id",
    "validate_address",
    "validate_foreign_id",
    "validate_person_count",
    "validate_person_name",
    "validate_phone",
    "validate_resident_id",
    "validate_text",
]

BAD_USER_INPUT = "BAD_USER_INPUT"

SUMMARY_MAX = 2000
REASON_MAX = 1000
CATEGORY_MAX = 50
NAME_MAX = 50
ADDRESS_MIN = 2
ADDRESS_MAX = 200
PERSON_COUNT_MAX = 10_000

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


class ValidationFailed(ValueError):
    """Input rejected. `code` is the GraphQL error code; `reason` says why, for tests and logs."""

    def __init__(self, field: str, code: str, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message
        self.reason = reason


def _fail(field: str, message: str, reason: str) -> ValidationFailed:
    return ValidationFailed(field, BAD_USER_INPUT, message, reason=reason)


# --- Resident identity card numbers (居民身份证号码, GB 11643-1999) -----------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# Taiwan, Hong Kong and Macau have GB/T 2260 codes but no rows in the division data.
_ID_ONLY_PROVINCE_CODES = frozenset({"71", "81", "82"})
_ID18 = re.compile(r"[0-9]{17}[0-9X]")
_ID15 = re.compile(r"[0-9]{15}")


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("the check character is computed from exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


@functools.cache
def _id_province_codes() -> frozenset[str]:
    return frozenset(d.code for d in division_tree().provinces()) | _ID_ONLY_PROVINCE_CODES


def _today_in_china() -> date:
    return datetime.now(CHINA_STANDARD_TIME).date()


def validate_resident_id(
    value: str, *, field: str = "petitionerIdNumber", today: date | None = None
) -> str:
    """Validate a resident ID number (身份证号码).

    18 characters: 6-digit address code, birth date YYYYMMDD, 3-digit sequence and a
    check character; a lowercase x is returned as X. Only the province part of the
    address code is checked, because retired county codes stay valid on old cards.
    Legacy 15-digit numbers (birth date YYMMDD in the 1900s, no check character) are
    accepted and returned unchanged; see :func:`upgrade_legacy_id`.
    """
    number = value.strip().upper()
    if len(number) == 18:
        if not _ID18.fullmatch(number):
            raise _fail(
                field,
                "A resident ID number (身份证号码) has 17 digits followed by a digit or X.",
                "ID_CHARACTERS",
            )
        birth = number[6:14]
    elif len(number) == 15:
        if not _ID15.fullmatch(number):
            raise _fail(
                field,
                "A 15-digit resident ID number (身份证号码) contains digits only.",
                "ID_CHARACTERS",
            )
        birth = "19" + number[6:12]
    else:
        raise _fail(
            field,
            "A resident ID number (身份证号码) has 18 characters (or 15 digits for an old card).",
            "ID_LENGTH",
        )
    if number[:2] not in _id_province_codes():
        raise _fail(
            field,
            "The ID number does not start with a province code (e.g. 11 Beijing, 53 Yunnan).",
            "ID_PROVINCE",
        )
    _check_birth_date(birth, field, today or _today_in_china())
    if len(number) == 18 and id_check_char(number[:17]) != number[17]:
        raise _fail(
            field,
            "The last character of the ID number does not match the others; "
            "please check it for a typing error.",
            "ID_CHECK_CHAR",
        )
    return number


def _check_birth_date(yyyymmdd: str, field: str, today: date) -> None:
    try:
        birth = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        raise _fail(
            field, "The birth date in the ID number is not a real date.", "ID_BIRTH_DATE"
        ) from None
    if birth.year < 1900 or birth > today:
        raise _fail(
            field,
            "The birth date in the ID number must lie between 1900 and today.",
            "ID_BIRTH_DATE",
        )


def upgrade_legacy_id(id15: str) -> str:
    """Convert a 15-digit ID number to its 18-character form (insert 19, add check char)."""
    number = validate_resident_id(id15)
    if len(number) != 15:
        raise _fail("petitionerIdNumber", "Only a 15-digit ID number can be upgraded.", "ID_LENGTH")
    first17 = number[:6] + "19" + number[6:]
    return first17 + id_check_char(first17)


def normalise_id_for_key(value: str) -> str:
    """Canonical form of a resident ID number for hashing: 18 characters, upper case."""
    number = validate_resident_id(value)
    return upgrade_legacy_id(number) if len(number) == 15 else number


# --- Foreign identity documents (Art. 48) ------------------------------------------

_FOREIGN_ID = re.compile(r"[A-Z0-9]{5,20}")


def validate_foreign_id(value: str, *, field: str = "petitionerIdNumber") -> str:
    """A passport or foreign permanent residence card number.

    Deliberately loose, since formats vary by country: after stripping and
    upper-casing, 5 to 20 characters from A-Z and 0-9.
    """
    number = value.strip().upper()
    if not _FOREIGN_ID.fullmatch(number):
        raise _fail(
            field,
            "A passport or residence card number has 5 to 20 letters (A-Z) and digits.",
            "FOREIGN_ID_FORMAT",
        )
    return number


# --- Phone numbers -----------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Area codes: 010 and 02x have two digits after the trunk 0, all others three.
_LANDLINE = re.compile(r"0(?:10|2[0-9]|[3-9][0-9]{2})[0-9]{7,8}")
_PHONE_SEPARATORS = re.compile(r"[\s\-]")


def validate_phone(value: str, *, field: str = "petitionerPhone") -> str:
    """A mainland mobile or landline number, returned in E.164 (+86...).

    Spaces and dashes are ignored. A +86 or 0086 prefix is optional; after it a
    landline may omit its trunk 0, so E.164 output validates to itself. A bare 86
    prefix is only recognised in front of a mobile number.
    """
    digits = _PHONE_SEPARATORS.sub("", value)
    national = digits
    international = False
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            national, international = digits[len(prefix) :], True
            break
    else:
        if digits.startswith("86") and _MOBILE.fullmatch(digits[2:]):
            national = digits[2:]
    if _MOBILE.fullmatch(national):
        return "+86" + national
    if international and not national.startswith("0"):
        national = "0" + national
    if _LANDLINE.fullmatch(national):
        return "+86" + national[1:]
    raise _fail(
        field,
        "Enter a mainland mobile number (11 digits starting with 13-19) or a landline "
        "with its area code, e.g. 0871-63123456.",
        "PHONE_FORMAT",
    )


# --- Free text ---------------------------------------------------------------------

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_control(ch: str, allowed: str = "") -> bool:
    # Cc: C0/C1 controls; Cs: lone surrogates (not storable as UTF-8); bidi
    # overrides can make displayed text differ from the stored text.
    if ch in allowed:
        return False
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI_CONTROLS


def _normalise_text(value: str) -> str:
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text).strip()


def validate_text(value: str, *, field: str, min_length: int = 1, max_length: int) -> str:
    """Free text: stripped, NFC, CR/CRLF turned into LF, length counted in characters.

    Newlines and tabs are allowed; other control characters are not.
    """
    text = _normalise_text(value)
    if len(text) < min_length:
        message = (
            "This field is required."
            if min_length == 1
            else f"Enter at least {min_length} characters."
        )
        raise _fail(field, message, "TOO_SHORT")
    if len(text) > max_length:
        raise _fail(
            field,
            f"Enter at most {max_length} characters (currently {len(text)}).",
            "TOO_LONG",
        )
    if any(_is_control(ch, allowed="\n\t") for ch in text):
        raise _fail(field, "The text contains invisible control characters.", "CONTROL_CHARACTER")
    return text


def validate_address(value: str, *, field: str = "petitionerAddress") -> str:
    """A postal address (通讯地址): stripped, 2 to 200 characters, a single line."""
    address = _normalise_text(value)
    if any(_is_control(ch) for ch in address):
        raise _fail(
            field,
            "The address must be one line without control characters.",
            "CONTROL_CHARACTER",
        )
    if not ADDRESS_MIN <= len(address) <= ADDRESS_MAX:
        raise _fail(
            field,
            f"An address has {ADDRESS_MIN} to {ADDRESS_MAX} characters.",
            "TOO_SHORT" if len(address) < ADDRESS_MIN else "TOO_LONG",
        )
    return address


# --- Names -------------------------------------------------------------------------

MIDDLE_DOT = "·"  # U+00B7, the separator in transliterated minority and foreign names
# Look-alikes people type instead of U+00B7; normalised to it.
_MIDDLE_DOT_VARIANTS = str.maketrans(dict.fromkeys("•‧・･∙", MIDDLE_DOT))
_NAME_PUNCTUATION = frozenset(" -'’" + MIDDLE_DOT)
_SPACES = re.compile(r"\s+")


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch)[0] in ("L", "M")


def validate_person_name(value: str, *, field: str = "petitionerName") -> str:
    """A person's name: Chinese (阿依古丽·买买提) or Latin (Mary-Jane O'Neil).

    Letters of any script plus spaces, hyphens, apostrophes and the middle dot;
    runs of spaces collapse to one and dot look-alikes become U+00B7.
    """
    name = unicodedata.normalize("NFC", value).translate(_MIDDLE_DOT_VARIANTS).strip()
    if any(_is_control(ch) for ch in name):
        raise _fail(field, "The name contains invisible control characters.", "CONTROL_CHARACTER")
    name = _SPACES.sub(" ", name)
    if not name:
        raise _fail(field, "The name is required.", "TOO_SHORT")
    if len(name) > NAME_MAX:
        raise _fail(field, f"A name has at most {NAME_MAX} characters.", "TOO_LONG")
    if any(unicodedata.category(ch) == "Nd" for ch in name):
        raise _fail(field, "A name cannot contain digits.", "NAME_DIGIT")
    if not all(_is_letter(ch) or ch in _NAME_PUNCTUATION for ch in name):
        raise _fail(
            field,
            "A name may contain letters, spaces, hyphens, apostrophes and the middle dot (·).",
            "NAME_CHARACTERS",
        )
    if not (_is_letter(name[0]) and _is_letter(name[-1])) or MIDDLE_DOT * 2 in name:
        raise _fail(
            field,
            "A name must begin and end with a letter, with one middle dot (·) between parts.",
            "NAME_CHARACTERS",
        )
    return name


# --- Person count ------------------------------------------------------------------


def validate_person_count(n: int, *, field: str = "personCount") -> int:
    """Number of petitioners in the matter (人次): 1 to 10,000."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise _fail(field, "The number of persons must be a whole number.", "NOT_AN_INTEGER")
    if not 1 <= n <= PERSON_COUNT_MAX:
        raise _fail(
            field,
            f"The number of persons must be between 1 and {PERSON_COUNT_MAX}.",
            "OUT_OF_RANGE",
        )
    return n


# --- Privacy: keys and masks -------------------------------------------------------

_MIN_SECRET_BYTES = 16


def person_key(id_number: str, secret: bytes, *, foreign: bool = False) -> str:
    """A keyed hash that recognises a repeat petitioner without storing the ID.

    HMAC-SHA256 (hex) of the canonical ID number, so the 15-digit and 18-digit
    forms of one card give the same key. With ``foreign=True`` the number is a
    foreign document (validate_foreign_id) and is hashed in its own namespace.
    """
    if len(secret) < _MIN_SECRET_BYTES:
        raise ValueError(f"the person_key secret must have at least {_MIN_SECRET_BYTES} bytes")
    if foreign:
        message = "FOREIGN:" + validate_foreign_id(id_number)
    else:
        message = normalise_id_for_key(id_number)
    return hmac.new(secret, message.encode("ascii"), hashlib.sha256).hexdigest()


def mask_id_number(value: str) -> str:
    """110105********002X: resident IDs keep the first 6 and last 4 characters.

    Shorter documents (passports) keep only their last 2 characters.
    """
    number = value.strip()
    if number.isascii():  # upper() may change the length of other text ("ß" -> "SS")
        number = number.upper()
    if len(number) >= 15:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 2) + number[-2:]


def mask_phone(value: str) -> str:
    """+86139****5678: country code, the first 3 and the last 4 national digits.

    Anything validate_phone rejects is masked completely.
    """
    try:
        e164 = validate_phone(value)
    except ValidationFailed:
        return "*" * len(value.strip())
    national = e164[3:]
    return "+86" + national[:3] + "*" * (len(national) - 7) + national[-4:]


def mask_name(value: str) -> str:
    """张** / 阿***·买**: the first character of each ·-separated part, the rest '*'."""
    parts = value.strip().translate(_MIDDLE_DOT_VARIANTS).split(MIDDLE_DOT)
    return MIDDLE_DOT.join(part[:1] + "*" * (len(part) - 1) for part in parts)


_NUL_ESCAPE = re.compile(r"\\u(?:0000|\{0+\})")
NUL_REFUSED = "text may not contain the NUL character (U+0000)"


def carries_nul(query: str | None, variables: Any) -> bool:
    """Whether a request holds a NUL character anywhere (PostgreSQL text cannot store one, so
    it would fail deep in a write instead of at the door): in the variables' strings and keys,
    or in the document, raw or as a ``\\u0000`` / ``\\u{0}`` escape in a string literal."""
    if query is not None and ("\x00" in query or _NUL_ESCAPE.search(query)):
        return True
    stack = [variables]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
