from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.identity import leader

REGISTER = """
mutation($input: RegisterPetitionInput!, $key: String!) {
  registerPetition(input: $input, idempotencyKey: $key) {
    id status owner { code name } deadlines { kind due }
  }
}
"""


async def test_registers_a_petition_and_reads_it_back(gql: GraphQLClient) -> None:
    result = await gql(
        REGISTER,
        {
            "input": {
                "channel": "VISIT",
                "category": "土地征收",
                "summary": "征地补偿款未发放",
                "issueLocality": "530102",
                "petitionerName": "张三",
                "petitionerIdNumber": "11010519491231002X",
            },
            "key": "smoke-0001",
        },
    )
    assert "errors" not in result, result
    case = result["data"]["registerPetition"]
    assert case["id"] == "530102-2025-000001"
    assert case["owner"] == {"code": "530102", "name": "五华区"}
    read = await gql(
        "query($id: ID!) { case(id: $id) { id status petitioner { name idNumber masked } } }",
        {"id": case["id"]},
        user=leader("530102"),
    )
    assert read["data"]["case"]["petitioner"] == {
        "name": "张*",
        "idNumber": "110105********002X",
        "masked": True,
    }
    own = await gql(
        'query($id: ID!) { case(id: $id) { petitioner(purpose: "reply") { idNumber masked } } }',
        {"id": case["id"]},
    )
    assert own["data"]["case"]["petitioner"] == {"idNumber": "11010519491231002X", "masked": False}
