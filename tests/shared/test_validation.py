from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.validation import (
    CATEGORY_MAX,
    REASON_MAX,
    SUMMARY_MAX,
    ValidationFailed,
    id_check_char,
    mask_id_number,
    mask_name,
    mask_phone,
    normalise_id_for_key,
    person_key,
    upgrade_legacy_id,
    validate_address,
    validate_foreign_id,
    validate_person_count,
    validate_person_name,
    validate_phone,
    validate_resident_id,
    validate_text,
)

VALID_ID = "11010519491231002X"
LEGACY_ID = "110105491231002"  # the same person on a first-generation card
SECRET = b"a-test-secret-of-32-bytes-length"
OTHER_SECRET = b"another-secret-of-32-bytes-long!"
# GB/T 2260 province codes: the 31 of the mainland, then Taiwan, Hong Kong and Macau.
PROVINCES = """11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54
61 62 63 64 65 71 81 82""".split()  # noqa: SIM905 (a table reads better than 34 literals)


def with_check_char(first17: str) -> str:
    return first17 + id_check_char(first17)


def reason_of(excinfo: pytest.ExceptionInfo[ValidationFailed]) -> str | None:
    return excinfo.value.reason


# --- ValidationFailed -------------------------------------------------------------


def test_validation_failed_carries_field_code_and_message() -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_resident_id("123", field="idNumber")
    error = excinfo.value
    assert isinstance(error, ValueError)
    assert error.field == "idNumber"
    assert error.code == "BAD_USER_INPUT"
    assert "18 characters" in error.message
    assert str(error) == error.message


def test_error_messages_never_repeat_the_rejected_id_number() -> None:
    bad = VALID_ID[:-1] + "1"
    with pytest.raises(ValidationFailed) as excinfo:
        validate_resident_id(bad)
    assert bad not in excinfo.value.message
    assert bad[6:14] not in excinfo.value.message


# --- resident ID numbers ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        VALID_ID,
        "11010519491231002x",
        "  11010519491231002X\n",
        with_check_char("53010219900307123"),
        with_check_char("71000019800101001"),  # Taiwan
        with_check_char("81000020000229002"),  # Hong Kong, leap day
    ],
)
def test_valid_resident_ids_are_accepted_in_upper_case(value: str) -> None:
    assert validate_resident_id(value) == value.strip().upper()


def test_the_standard_example_has_check_char_x() -> None:
    assert id_check_char(VALID_ID[:17]) == "X"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (VALID_ID[:-1] + "1", "ID_CHECK_CHAR"),
        (VALID_ID[:-1] + "0", "ID_CHECK_CHAR"),
        (with_check_char("11010519490231002"), "ID_BIRTH_DATE"),  # 31 February
        (with_check_char("11010519491331002"), "ID_BIRTH_DATE"),  # month 13
        (with_check_char("11010519000229002"), "ID_BIRTH_DATE"),  # 1900 was not a leap year
        (with_check_char("11010518991231002"), "ID_BIRTH_DATE"),  # before 1900
        (with_check_char("11010530000101002"), "ID_BIRTH_DATE"),  # future
        (with_check_char("99010519491231002"), "ID_PROVINCE"),
        (with_check_char("00010519491231002"), "ID_PROVINCE"),
        (with_check_char("83010519491231002"), "ID_PROVINCE"),
        (VALID_ID[:-1], "ID_LENGTH"),
        (VALID_ID + "1", "ID_LENGTH"),
        ("", "ID_LENGTH"),
        ("11010519491231A02X", "ID_CHARACTERS"),  # letter in the body
        ("X1010519491231002X", "ID_CHARACTERS"),
        ("１１０１０５１９４９１２３１００２Ｘ", "ID_CHARACTERS"),  # full-width
        ("110105-19491231-00", "ID_CHARACTERS"),
    ],
)
def test_invalid_resident_ids_are_rejected_with_the_reason(value: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_resident_id(value)
    assert reason_of(excinfo) == reason
    assert excinfo.value.code == "BAD_USER_INPUT"


def test_a_birth_date_of_today_is_accepted_and_tomorrow_is_rejected() -> None:
    today = date(2025, 6, 15)
    born_today = with_check_char("530102" + "20250615" + "001")
    born_tomorrow = with_check_char("530102" + "20250616" + "001")
    assert validate_resident_id(born_today, today=today) == born_today
    with pytest.raises(ValidationFailed) as excinfo:
        validate_resident_id(born_tomorrow, today=today)
    assert reason_of(excinfo) == "ID_BIRTH_DATE"


def test_retired_county_codes_are_accepted_as_long_as_the_province_is_real() -> None:
    retired = with_check_char("532101" + "19700101" + "003")  # 昭通地区 昭通市, since renamed
    assert validate_resident_id(retired) == retired


# --- legacy 15-digit IDs ---------------------------------------------------------------


def test_legacy_15_digit_ids_are_returned_unchanged() -> None:
    assert validate_resident_id(f" {LEGACY_ID} ") == LEGACY_ID


def test_upgrading_a_legacy_id_inserts_19_and_adds_the_check_char() -> None:
    assert upgrade_legacy_id(LEGACY_ID) == VALID_ID


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("110105490231002", "ID_BIRTH_DATE"),
        ("990105491231002", "ID_PROVINCE"),
        ("11010549123100X", "ID_CHARACTERS"),
    ],
)
def test_invalid_legacy_ids_are_rejected(value: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_resident_id(value)
    assert reason_of(excinfo) == reason


def test_only_15_digit_ids_can_be_upgraded() -> None:
    with pytest.raises(ValidationFailed):
        upgrade_legacy_id(VALID_ID)


def test_normalised_id_for_key_is_the_18_character_upper_case_form() -> None:
    assert normalise_id_for_key(LEGACY_ID) == VALID_ID
    assert normalise_id_for_key("11010519491231002x ") == VALID_ID


# --- property: every well-formed ID validates, a wrong check char never does ----------

id_bodies = st.builds(
    lambda province, county, born, seq: f"{province}{county}{born:%Y%m%d}{seq:03d}",
    st.sampled_from(PROVINCES),
    st.from_regex(r"[0-9]{4}", fullmatch=True),
    st.dates(min_value=date(1900, 1, 1), max_value=date.today() - timedelta(days=1)),
    st.integers(min_value=0, max_value=999),
)


@given(id_bodies)
def test_any_id_with_a_computed_check_char_is_accepted(first17: str) -> None:
    number = first17 + id_check_char(first17)
    assert validate_resident_id(number) == number
    assert validate_resident_id(number.lower()) == number


@given(id_bodies, st.sampled_from("0123456789X"))
def test_any_other_check_char_is_rejected(first17: str, wrong: str) -> None:
    if wrong == id_check_char(first17):
        wrong = "0" if wrong != "0" else "1"
    with pytest.raises(ValidationFailed) as excinfo:
        validate_resident_id(first17 + wrong)
    assert reason_of(excinfo) == "ID_CHECK_CHAR"


@given(id_bodies, st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_a_single_mistyped_digit_is_always_detected(
    first17: str, position: int, delta: int
) -> None:
    number = first17 + id_check_char(first17)
    typo = str((int(number[position]) + delta) % 10)
    mistyped = number[:position] + typo + number[position + 1 :]
    with pytest.raises(ValidationFailed):
        validate_resident_id(mistyped)


# --- foreign IDs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("E12345678", "E12345678"),
        (" g1234567 ", "G1234567"),
        ("A1234", "A1234"),
        ("USA12345678901234567", "USA12345678901234567"),
    ],
)
def test_foreign_ids_are_5_to_20_letters_and_digits(value: str, expected: str) -> None:
    assert validate_foreign_id(value) == expected


@pytest.mark.parametrize("value", ["", "A123", "A" * 21, "E1234-5678", "护照12345"])
def test_malformed_foreign_ids_are_rejected(value: str) -> None:
    with pytest.raises(ValidationFailed):
        validate_foreign_id(value)


# --- phones -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("13912345678", "+8613912345678"),
        ("139 1234 5678", "+8613912345678"),
        ("139-1234-5678", "+8613912345678"),
        ("+86 139 1234 5678", "+8613912345678"),
        ("+8613912345678", "+8613912345678"),
        ("8613912345678", "+8613912345678"),
        ("008613912345678", "+8613912345678"),
        ("19912345678", "+8619912345678"),
        ("0871-63123456", "+8687163123456"),
        ("087163123456", "+8687163123456"),
        ("0871-6312345", "+868716312345"),
        ("010-12345678", "+861012345678"),
        ("020 87654321", "+862087654321"),
        ("+86 871 63123456", "+8687163123456"),
        ("+86 0871 63123456", "+8687163123456"),
    ],
)
def test_valid_phones_are_returned_in_e164(value: str, e164: str) -> None:
    assert validate_phone(value) == e164
    assert validate_phone(e164) == e164


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12345678901",  # mobile numbers start 13-19
        "1391234567",  # 10 digits
        "139123456789",  # 12 digits
        "+85261234567",  # Hong Kong
        "+1 415 555 0100",
        "63123456",  # landline without area code
        "0871-631234",  # 6-digit subscriber number
        "0871-631234567",  # 9-digit subscriber number
        "00871-63123456",
        "139.1234.5678",
        "１３９１２３４５６７８",  # full-width digits
        "4008123123",  # service number
        "86087163123456",  # bare 86 is only accepted before a mobile
    ],
)
def test_invalid_phones_are_rejected(value: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_phone(value)
    assert excinfo.value.field == "petitionerPhone"


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三", "张三"),
        ("  欧阳娜娜 ", "欧阳娜娜"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),  # bullet normalised to the middle dot
        ("阿依古丽・买买提", "阿依古丽·买买提"),  # katakana middle dot too
        ("John  Smith", "John Smith"),
        ("Mary-Jane O'Neil", "Mary-Jane O'Neil"),
        ("José Núñez", "José Núñez"),
        ("李", "李"),
        ("𠮷田", "𠮷田"),  # a character outside the BMP
        ("名" * 50, "名" * 50),
    ],
)
def test_valid_names_are_normalised(value: str, expected: str) -> None:
    assert validate_person_name(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "TOO_SHORT"),
        ("   ", "TOO_SHORT"),
        ("名" * 51, "TOO_LONG"),
        ("张3", "NAME_DIGIT"),
        ("张３", "NAME_DIGIT"),  # full-width digit
        ("张\x00三", "CONTROL_CHARACTER"),
        ("张\u202e三", "CONTROL_CHARACTER"),  # right-to-left override
        ("张\n三", "CONTROL_CHARACTER"),
        ("<script>", "NAME_CHARACTERS"),
        ("张三@", "NAME_CHARACTERS"),
        ("·买买提", "NAME_CHARACTERS"),
        ("阿依古丽··买买提", "NAME_CHARACTERS"),
        ("O'", "NAME_CHARACTERS"),
    ],
)
def test_invalid_names_are_rejected(value: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_person_name(value)
    assert reason_of(excinfo) == reason


# --- addresses --------------------------------------------------------------------------


def test_addresses_are_stripped_and_bounded() -> None:
    assert validate_address("  云南省昆明市五华区华山西路1号 ") == "云南省昆明市五华区华山西路1号"
    assert validate_address("北京") == "北京"
    assert validate_address("路" * 200) == "路" * 200


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "TOO_SHORT"),
        (" 京 ", "TOO_SHORT"),
        ("路" * 201, "TOO_LONG"),
        ("昆明市\n五华区", "CONTROL_CHARACTER"),
        ("昆明市\x07五华区", "CONTROL_CHARACTER"),
    ],
)
def test_invalid_addresses_are_rejected(value: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_address(value)
    assert reason_of(excinfo) == reason
    assert excinfo.value.field == "petitionerAddress"


# --- free text ----------------------------------------------------------------------


@pytest.mark.parametrize("maximum", [SUMMARY_MAX, REASON_MAX, CATEGORY_MAX])
def test_text_of_exactly_the_maximum_length_is_accepted(maximum: int) -> None:
    assert validate_text("字" * maximum, field="summary", max_length=maximum) == "字" * maximum


@pytest.mark.parametrize("maximum", [SUMMARY_MAX, REASON_MAX, CATEGORY_MAX])
def test_text_one_character_over_the_maximum_is_rejected(maximum: int) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_text("字" * (maximum + 1), field="summary", max_length=maximum)
    assert excinfo.value.field == "summary"
    assert reason_of(excinfo) == "TOO_LONG"


def test_text_limits_match_the_case_fields() -> None:
    assert (SUMMARY_MAX, REASON_MAX, CATEGORY_MAX) == (2000, 1000, 50)


def test_text_length_is_counted_after_stripping() -> None:
    assert validate_text("  abc  ", field="reason", max_length=3) == "abc"


def test_text_keeps_newlines_and_tabs_and_converts_crlf() -> None:
    assert (
        validate_text("第一段\r\n\t第二段\r", field="summary", max_length=20) == "第一段\n\t第二段"
    )


@pytest.mark.parametrize("value", ["", "   ", "\n\t"])
def test_blank_text_is_rejected_as_missing(value: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_text(value, field="reason", max_length=REASON_MAX)
    assert reason_of(excinfo) == "TOO_SHORT"


def test_text_below_a_custom_minimum_is_rejected() -> None:
    assert validate_text("12345", field="reason", min_length=5, max_length=10) == "12345"
    with pytest.raises(ValidationFailed, match="at least 5"):
        validate_text("1234", field="reason", min_length=5, max_length=10)


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x7f", "\u2066"])
def test_text_with_other_control_characters_is_rejected(control: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_text(f"a{control}b", field="summary", max_length=SUMMARY_MAX)
    assert reason_of(excinfo) == "CONTROL_CHARACTER"


# --- person count -------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 10_000])
def test_person_counts_from_1_to_10000_are_accepted(n: int) -> None:
    assert validate_person_count(n) == n


@pytest.mark.parametrize("n", [0, -1, 10_001, True])
def test_person_counts_out_of_range_are_rejected(n: int) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_person_count(n)
    assert excinfo.value.field == "personCount"


# --- person key ---------------------------------------------------------------------


def test_person_key_is_a_stable_hmac_sha256_hex_digest() -> None:
    key = person_key(VALID_ID, SECRET)
    assert key == person_key(VALID_ID, SECRET)
    assert len(key) == 64
    assert int(key, 16) >= 0
    assert VALID_ID not in key


def test_person_key_is_the_same_for_a_legacy_id_and_its_upgrade() -> None:
    assert person_key(LEGACY_ID, SECRET) == person_key(VALID_ID, SECRET)
    assert person_key("11010519491231002x", SECRET) == person_key(VALID_ID, SECRET)


def test_person_key_differs_with_another_secret_or_person() -> None:
    assert person_key(VALID_ID, SECRET) != person_key(VALID_ID, OTHER_SECRET)
    other_person = with_check_char("11010519491231004")
    assert person_key(VALID_ID, SECRET) != person_key(other_person, SECRET)


def test_person_key_rejects_invalid_ids_and_short_secrets() -> None:
    with pytest.raises(ValidationFailed):
        person_key(VALID_ID[:-1] + "1", SECRET)
    with pytest.raises(ValueError, match="16 bytes"):
        person_key(VALID_ID, b"short")


def test_foreign_person_keys_live_in_their_own_namespace() -> None:
    passport = "E12345678"
    assert person_key(passport, SECRET, foreign=True) == person_key(
        "e12345678 ", SECRET, foreign=True
    )
    with pytest.raises(ValidationFailed):
        person_key(passport, SECRET)


# --- masking ------------------------------------------------------------------------


def test_id_numbers_are_masked_to_the_first_6_and_last_4() -> None:
    assert mask_id_number(VALID_ID) == "110105********002X"
    assert mask_id_number("11010519491231002x") == "110105********002X"
    assert mask_id_number(LEGACY_ID) == "110105*****1002"


def test_short_document_numbers_keep_only_the_last_2() -> None:
    assert mask_id_number("E12345678") == "*******78"
    assert mask_id_number("AB12") == "****"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+8613912345678", "+86139****5678"),
        ("139 1234 5678", "+86139****5678"),
        ("+8687163123456", "+86871****3456"),
        ("010-12345678", "+86101***5678"),
        ("not a phone", "***********"),
    ],
)
def test_phones_keep_the_country_code_the_first_3_and_the_last_4(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        ("李", "李"),
        ("阿依古丽·买买提", "阿***·买**"),
        ("John Smith", "J*********"),
    ],
)
def test_names_keep_the_first_character_of_each_part(value: str, masked: str) -> None:
    assert mask_name(value) == masked


@given(st.text(min_size=1, max_size=30))
def test_id_masking_keeps_the_length_and_reveals_at_most_10_characters(value: str) -> None:
    masked = mask_id_number(value)
    revealed = sum(ch != "*" for ch in masked)
    assert len(masked) == len(value.strip())
    assert revealed <= (10 if len(masked) >= 15 else 2)
