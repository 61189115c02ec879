# strawberry's federation decorators lose their types when given arguments.
# mypy: disable-error-code="untyped-decorator"
"""The demo subgraphs (accounts, products, inventory, reviews, search), strawberry federation.

The classic Apollo demo plus what a gateway must handle: two keys on Product (``upc`` and
``sku``; inventory knows only ``sku``), a composite nested key (``Seller @key(fields:
"market { code } number")``), ``@requires`` across a two-hop key, ``@provides``,
``@shareable``, ``@override``, ``@inaccessible``, ``resolvable: false`` stubs, and an interface
and a union whose members are resolved by other subgraphs.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from tests.gateway import demo_data as d

SUBGRAPH_NAMES = ("accounts", "products", "inventory", "reviews", "search")


# --- accounts ---------------------------------------------------------------------------------
@strawberry.enum
class Role(Enum):
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


@strawberry.federation.type(name="User", keys=["id"])
class AccountsUser:
    row: strawberry.Private[d.UserRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.row.id)

    @strawberry.field
    def name(self) -> str | None:
        return self.row.name

    @strawberry.federation.field(shareable=True)
    def username(self) -> str | None:
        return self.row.username

    @strawberry.field
    def birth_date(self) -> str | None:
        return d.birth_date(self.row)

    @strawberry.field
    def role(self) -> Role:
        return Role(self.row.role)

    @strawberry.federation.field(inaccessible=True)
    def internal_note(self) -> str | None:
        return "never shown through the gateway"

    @strawberry.field
    def review_count(self) -> int:
        return -1  # stale: reviews overrides this field

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> AccountsUser:
        return cls(row=d.DATA.users[id])


@strawberry.type(name="Query")
class AccountsQuery:
    @strawberry.field
    def me(self) -> AccountsUser:
        return AccountsUser(row=d.DATA.users["1"])

    @strawberry.field
    def user(self, id: strawberry.ID) -> AccountsUser | None:
        row = d.DATA.users.get(id)
        return AccountsUser(row=row) if row else None

    @strawberry.field
    def users(self) -> list[AccountsUser]:
        return [AccountsUser(row=row) for row in d.DATA.users.values()]


@strawberry.type(name="Mutation")
class AccountsMutation:
    @strawberry.mutation
    def rename_user(self, id: strawberry.ID, name: str) -> AccountsUser:
        return AccountsUser(row=d.rename_user(id, name))


# --- products ---------------------------------------------------------------------------------
@strawberry.federation.type(name="Market", shareable=True)
class ProductsMarket:
    code: str


@strawberry.federation.type(name="Seller", keys=["market { code } number"])
class ProductsSeller:
    market: ProductsMarket
    number: int

    @strawberry.field
    def name(self) -> str:
        return d.DATA.sellers[(self.market.code, self.number)].name

    @classmethod
    def resolve_reference(cls, market: dict[str, Any], number: int) -> ProductsSeller:
        return cls(market=ProductsMarket(code=market["code"]), number=number)


@strawberry.federation.type(name="Product", keys=["upc", "sku"])
class ProductsProduct:
    row: strawberry.Private[d.ProductRow]

    @strawberry.field
    def upc(self) -> str:
        return self.row.upc

    @strawberry.field
    def sku(self) -> str:
        return self.row.sku

    @strawberry.federation.field(shareable=True)
    def name(self) -> str | None:
        return self.row.name

    @strawberry.field
    def price(self) -> int | None:
        return self.row.price

    @strawberry.field
    def weight(self) -> int | None:
        return self.row.weight

    @strawberry.field
    def seller(self) -> ProductsSeller | None:
        if self.row.seller is None:
            return None
        market, number = self.row.seller
        return ProductsSeller(market=ProductsMarket(code=market), number=number)

    @classmethod
    def resolve_reference(
        cls, upc: str | None = None, sku: str | None = None
    ) -> ProductsProduct | None:
        for row in d.DATA.products.values():
            if row.upc == upc or row.sku == sku:
                return cls(row=row)
        return None


@strawberry.type(name="Query")
class ProductsQuery:
    @strawberry.field
    def top_products(self, first: int = 4) -> list[ProductsProduct | None]:
        return [ProductsProduct(row=row) for row in d.top_products(first)]

    @strawberry.field
    def product(self, upc: str) -> ProductsProduct | None:
        row = d.DATA.products.get(upc)
        return ProductsProduct(row=row) if row else None


# --- inventory --------------------------------------------------------------------------------
@strawberry.federation.type(name="Product", keys=["sku"])
class InventoryProduct:
    sku: str
    price: int | None = strawberry.federation.field(external=True, default=None)
    weight: int | None = strawberry.federation.field(external=True, default=None)

    @strawberry.field
    def in_stock(self) -> bool:
        return d.in_stock(self.sku)

    @strawberry.federation.field(requires=["price weight"])
    def shipping_estimate(self) -> int | None:
        if self.price is None or self.weight is None:
            raise ValueError("price and weight were not passed in the representation")
        return d.shipping_estimate(self.price, self.weight)

    @classmethod
    def resolve_reference(
        cls, sku: str, price: int | None = None, weight: int | None = None
    ) -> InventoryProduct:
        return cls(sku=sku, price=price, weight=weight)


# --- reviews ----------------------------------------------------------------------------------
@strawberry.federation.type(name="Market", shareable=True)
class ReviewsMarket:
    code: str


@strawberry.federation.type(name="Seller", keys=["market { code } number"])
class ReviewsSeller:
    market: ReviewsMarket
    number: int

    @strawberry.field
    def rating(self) -> float | None:
        return d.DATA.sellers[(self.market.code, self.number)].rating

    @classmethod
    def resolve_reference(cls, market: dict[str, Any], number: int) -> ReviewsSeller:
        return cls(market=ReviewsMarket(code=market["code"]), number=number)


@strawberry.federation.type(name="User", keys=["id"])
class ReviewsUser:
    id: strawberry.ID
    username: str | None = strawberry.federation.field(external=True, default=None)

    @strawberry.field
    def reviews(self) -> list[ReviewsReview]:
        rows = [r for r in d.DATA.reviews.values() if r.author_id == self.id]
        return [ReviewsReview(row=row) for row in rows]

    @strawberry.federation.field(override="accounts")
    def review_count(self) -> int:
        return sum(1 for r in d.DATA.reviews.values() if r.author_id == self.id)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewsUser:
        return cls(id=id)


@strawberry.federation.type(name="Product", keys=["upc"])
class ReviewsProduct:
    upc: str

    @strawberry.field
    def reviews(self) -> list[ReviewsReview]:
        rows = [r for r in d.DATA.reviews.values() if r.product_upc == self.upc]
        return [ReviewsReview(row=row) for row in rows]

    @classmethod
    def resolve_reference(cls, upc: str) -> ReviewsProduct:
        return cls(upc=upc)


@strawberry.federation.type(name="Review", keys=["id"])
class ReviewsReview:
    row: strawberry.Private[d.ReviewRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.row.id)

    @strawberry.field
    def body(self) -> str:
        return d.review_body(self.row)

    @strawberry.federation.field(provides=["username"])
    def author(self) -> ReviewsUser:
        author = d.DATA.users[self.row.author_id]
        return ReviewsUser(id=strawberry.ID(author.id), username=author.username)

    @strawberry.field
    def product(self) -> ReviewsProduct:
        return ReviewsProduct(upc=self.row.product_upc)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewsReview:
        return cls(row=d.DATA.reviews[id])


@strawberry.type(name="Mutation")
class ReviewsMutation:
    @strawberry.mutation
    def add_review(self, upc: str, author_id: strawberry.ID, body: str) -> ReviewsReview:
        return ReviewsReview(row=d.add_review(upc, author_id, body))


# --- search -----------------------------------------------------------------------------------
@strawberry.federation.interface(name="Node")
class SearchNode:
    id: strawberry.ID


@strawberry.federation.type(name="User", keys=[Key(fields=FieldSet("id"), resolvable=False)])
class SearchUser(SearchNode):
    pass


@strawberry.federation.type(name="Review", keys=[Key(fields=FieldSet("id"), resolvable=False)])
class SearchReview(SearchNode):
    pass


@strawberry.federation.type(name="Product", keys=[Key(fields=FieldSet("upc"), resolvable=False)])
class SearchProduct:
    upc: str
    name: str | None = strawberry.federation.field(shareable=True, default=None)


SearchResult = Annotated[SearchUser | SearchProduct, strawberry.union("SearchResult")]


def _node(id: str) -> SearchNode | None:
    if id in d.DATA.users:
        return SearchUser(id=strawberry.ID(id))
    if id in d.DATA.reviews:
        return SearchReview(id=strawberry.ID(id))
    return None


@strawberry.type(name="Query")
class SearchQuery:
    @strawberry.field
    def search(self, text: str) -> list[SearchResult]:
        users, products = d.search_names(text)
        results: list[SearchUser | SearchProduct] = [
            SearchUser(id=strawberry.ID(u.id)) for u in users
        ]
        results += [SearchProduct(upc=p.upc, name=p.name) for p in products]
        return results

    @strawberry.field
    def node(self, id: strawberry.ID) -> SearchNode | None:
        return _node(id)

    @strawberry.field
    def nodes(self, ids: list[strawberry.ID]) -> list[SearchNode]:
        return [node for node in map(_node, ids) if node is not None]


# 2.7: the newest version the pinned composer (@theguild/federation-composition 0.27) accepts.
FEDERATION_VERSION: Literal["2.7"] = "2.7"


def build_subgraph_schemas() -> dict[str, strawberry.federation.Schema]:
    v = FEDERATION_VERSION
    return {
        "accounts": strawberry.federation.Schema(
            query=AccountsQuery,
            mutation=AccountsMutation,
            types=[AccountsUser],
            federation_version=v,
        ),
        "products": strawberry.federation.Schema(
            query=ProductsQuery, types=[ProductsSeller], federation_version=v
        ),
        "inventory": strawberry.federation.Schema(types=[InventoryProduct], federation_version=v),
        "reviews": strawberry.federation.Schema(
            mutation=ReviewsMutation,
            types=[ReviewsUser, ReviewsProduct, ReviewsReview, ReviewsSeller],
            federation_version=v,
        ),
        "search": strawberry.federation.Schema(
            query=SearchQuery,
            types=[SearchUser, SearchReview, SearchProduct],
            federation_version=v,
        ),
    }
