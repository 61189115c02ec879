import pytest

from shared.divisions import (
    Division,
    DivisionCode,
    DivisionTree,
    InvalidDivisionCode,
    Tier,
    UnknownDivision,
    ancestors,
    division_tree,
    is_in_subtree,
    parent_code,
    parse_code,
    tier_of,
)

YUNNAN = "53"
KUNMING = "5301"
WUHUA = "530102"
HUASHAN = "530102001"  # 华山街道, a street office of 五华区


@pytest.fixture(scope="module")
def tree() -> DivisionTree:
    return division_tree()


# --- syntax -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "tier"),
    [
        (YUNNAN, Tier.PROVINCE),
        (KUNMING, Tier.CITY),
        (WUHUA, Tier.COUNTY),
        (HUASHAN, Tier.TOWNSHIP),
    ],
)
def test_tier_is_given_by_code_length(code: str, tier: Tier) -> None:
    assert parse_code(code) == DivisionCode(code=code, tier=tier)
    assert tier_of(code) is tier
    assert Tier.from_code_length(len(code)) is tier
    assert tier.value == tier.name


def test_from_code_length_rejects_lengths_without_a_tier() -> None:
    with pytest.raises(ValueError, match="12-digit"):
        Tier.from_code_length(12)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("", "empty"),
        ("5", "expected 2"),
        ("530", "expected 2"),
        ("53010", "expected 2"),
        ("530102001001", "expected 2"),
        ("53a1", "digits"),
        (" 5301", "digits"),
        ("５３", "digits"),  # full-width digits
        ("-530", "digits"),
        ("00", "1 to 8"),
        ("95", "1 to 8"),
        ("530000", "all-zero city"),
        ("5300", "all-zero city"),
        ("530100", "all-zero county"),
        ("530102000", "all-zero township"),
    ],
)
def test_parse_code_rejects_malformed_codes_with_a_clear_message(bad: str, message: str) -> None:
    with pytest.raises(InvalidDivisionCode, match=message):
        parse_code(bad)


def test_invalid_division_code_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="all-zero"):
        parse_code("530000")


@pytest.mark.parametrize(
    "code",
    [
        "441900",  # 东莞市: a city without counties, listed with county part 00
        "441900003",  # 东城街道, a township of 东莞市
        "460400",  # 儋州市
        "350527000",  # 金门县, listed as a township with part 000
    ],
)
def test_parse_code_accepts_real_divisions_that_have_a_zero_segment(code: str) -> None:
    assert parse_code(code).code == code


# --- prefix relations -------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        (HUASHAN, WUHUA),
        (WUHUA, KUNMING),
        (KUNMING, YUNNAN),
        (YUNNAN, None),
        ("110101", "1101"),  # 东城区 under the placeholder city 1101 市辖区
    ],
)
def test_parent_code_is_the_prefix_one_tier_up(code: str, parent: str | None) -> None:
    assert parent_code(code) == parent


def test_parent_code_rejects_invalid_codes() -> None:
    with pytest.raises(InvalidDivisionCode):
        parent_code("530000")


def test_ancestors_are_listed_root_first_without_the_code_itself() -> None:
    assert ancestors(HUASHAN) == [YUNNAN, KUNMING, WUHUA]
    assert ancestors(KUNMING) == [YUNNAN]
    assert ancestors(YUNNAN) == []


@pytest.mark.parametrize(
    ("code", "root"),
    [
        (YUNNAN, YUNNAN),
        (HUASHAN, HUASHAN),
        (HUASHAN, YUNNAN),
        (HUASHAN, KUNMING),
        (HUASHAN, WUHUA),
        (WUHUA, YUNNAN),
        ("530103", KUNMING),
    ],
)
def test_a_code_is_in_the_subtree_of_itself_and_its_ancestors(code: str, root: str) -> None:
    assert is_in_subtree(code, root)


@pytest.mark.parametrize(
    ("code", "root"),
    [
        (YUNNAN, KUNMING),  # an ancestor is not in its descendant's subtree
        (KUNMING, WUHUA),
        ("530103001", WUHUA),  # a sibling county's township
        ("5401", YUNNAN),  # another province
        ("110101", "1201"),
        ("5301", "5302"),  # sibling cities
    ],
)
def test_a_code_is_not_in_the_subtree_of_an_unrelated_or_lower_code(code: str, root: str) -> None:
    assert not is_in_subtree(code, root)


def test_is_in_subtree_rejects_invalid_codes() -> None:
    with pytest.raises(InvalidDivisionCode):
        is_in_subtree("530102", "5300")


# --- the registry -----------------------------------------------------------------


def test_names_of_real_divisions_come_from_the_packaged_data(tree: DivisionTree) -> None:
    assert tree.name(YUNNAN) == "云南省"
    assert tree.name(KUNMING) == "昆明市"
    assert tree.name(WUHUA) == "五华区"
    assert tree.name(HUASHAN) == "华山街道"
    assert tree.name("1101") == "市辖区"


def test_get_returns_the_division_with_its_parent(tree: DivisionTree) -> None:
    assert tree.get(HUASHAN) == Division(
        code=HUASHAN, name="华山街道", tier=Tier.TOWNSHIP, parent_code=WUHUA
    )
    assert tree.get(YUNNAN) == Division(
        code=YUNNAN, name="云南省", tier=Tier.PROVINCE, parent_code=None
    )


def test_get_and_exists_answer_quietly_for_unknown_codes(tree: DivisionTree) -> None:
    assert tree.get("5399") is None
    assert not tree.exists("5399")
    assert not tree.exists("not a code")
    assert tree.exists(WUHUA)


def test_name_of_an_unknown_code_raises_unknown_division(tree: DivisionTree) -> None:
    with pytest.raises(UnknownDivision, match="5399"):
        tree.name("5399")
    with pytest.raises(KeyError):
        tree.name("5399")


def test_name_of_a_malformed_code_raises_invalid_division_code(tree: DivisionTree) -> None:
    with pytest.raises(InvalidDivisionCode):
        tree.name("530000")


def test_parent_chain_of_a_township_reaches_the_province(tree: DivisionTree) -> None:
    chain = []
    division = tree.get(HUASHAN)
    while division is not None:
        chain.append(division.name)
        division = tree.get(division.parent_code) if division.parent_code else None
    assert chain == ["华山街道", "五华区", "昆明市", "云南省"]


def test_parent_chain_runs_through_municipality_placeholder_cities(tree: DivisionTree) -> None:
    township = tree.get("110101001")
    assert township is not None
    assert township.parent_code == "110101"
    assert [tree.name(code) for code in ancestors(township.code)] == ["北京市", "市辖区", "东城区"]


def test_every_registered_parent_is_registered_and_equals_the_prefix(tree: DivisionTree) -> None:
    for division in tree.subtree(YUNNAN):
        if division.parent_code is not None:
            assert tree.exists(division.parent_code)
        assert division.parent_code == parent_code(division.code)


def test_children_are_the_next_tier_sorted_by_code(tree: DivisionTree) -> None:
    children = tree.children(WUHUA)
    codes = [child.code for child in children]
    assert codes == sorted(codes)
    assert codes[0] == HUASHAN
    assert len(codes) == 11
    assert {child.tier for child in children} == {Tier.TOWNSHIP}
    assert tree.children(HUASHAN) == []


def test_children_of_a_province_are_its_cities(tree: DivisionTree) -> None:
    assert len(tree.children(YUNNAN)) == 16
    assert tree.children(YUNNAN)[0].name == "昆明市"


def test_children_of_an_unknown_code_raise(tree: DivisionTree) -> None:
    with pytest.raises(UnknownDivision):
        tree.children("5399")


def test_yunnan_has_1607_nodes_in_four_tiers(tree: DivisionTree) -> None:
    nodes = tree.province_nodes(YUNNAN)
    assert len(nodes) == 1 + 16 + 129 + 1461 == 1607
    by_tier = {tier: sum(1 for n in nodes if n.tier is tier) for tier in Tier}
    assert by_tier == {Tier.PROVINCE: 1, Tier.CITY: 16, Tier.COUNTY: 129, Tier.TOWNSHIP: 1461}


def test_province_nodes_are_root_first_then_by_tier_and_code(tree: DivisionTree) -> None:
    nodes = tree.province_nodes(YUNNAN)
    assert nodes[0].code == YUNNAN
    keys = [(len(n.code), n.code) for n in nodes]
    assert keys == sorted(keys)


def test_province_nodes_requires_a_province_code(tree: DivisionTree) -> None:
    with pytest.raises(InvalidDivisionCode, match="not a province"):
        tree.province_nodes(KUNMING)


def test_subtree_is_depth_first_starting_at_the_root(tree: DivisionTree) -> None:
    nodes = list(tree.subtree(WUHUA))
    assert [n.code for n in nodes] == [WUHUA, *(c.code for c in tree.children(WUHUA))]
    kunming = list(tree.subtree(KUNMING))
    assert kunming[0].code == KUNMING
    assert kunming[1].code == WUHUA
    assert kunming[2].code == HUASHAN
    assert all(is_in_subtree(n.code, KUNMING) for n in kunming)


def test_a_tree_can_be_built_from_any_divisions() -> None:
    small = DivisionTree(
        [
            Division("53", "云南省", Tier.PROVINCE, None),
            Division("5302", "B", Tier.CITY, "53"),
            Division("5301", "A", Tier.CITY, "53"),
        ]
    )
    assert len(small) == 3
    assert [d.code for d in small.children("53")] == ["5301", "5302"]
    assert "5301" in small


def test_the_whole_country_is_loaded_once_and_cached() -> None:
    assert division_tree() is division_tree()
    assert len(division_tree().provinces()) == 31


def test_the_whole_country_loads_the_same_each_time() -> None:
    """Its load time is measured by ``xinfang bench divisions`` (never in a timed test)."""
    first, second = DivisionTree.from_package_data(), DivisionTree.from_package_data()
    assert len(first) > 44_000
    assert len(first) == len(second)
    assert first.require("530102001").name == second.require("530102001").name
