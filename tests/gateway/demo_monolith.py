"""The same demo as one plain strawberry schema over the same data: the differential oracle."""

from __future__ import annotations

from typing import Annotated

import strawberry

from tests.gateway import demo_data as d
from tests.gateway.demo_subgraphs import Role


@strawberry.interface(name="Node")
class Node:
    id: strawberry.ID


@strawberry.type(name="Market")
class Market:
    code: str


@strawberry.type(name="Seller")
class Seller:
    market: Market
    number: int

    @strawberry.field
    def name(self) -> str:
        return d.DATA.sellers[(self.market.code, self.number)].name

    @strawberry.field
    def rating(self) -> float | None:
        return d.DATA.sellers[(self.market.code, self.number)].rating


@strawberry.type(name="User")
class User(Node):
    row: strawberry.Private[d.UserRow]

    @strawberry.field
    def name(self) -> str | None:
        return self.row.name

    @strawberry.field
    def username(self) -> str | None:
        return self.row.username

    @strawberry.field
    def birth_date(self) -> str | None:
        return d.birth_date(self.row)

    @strawberry.field
    def role(self) -> Role:
        return Role(self.row.role)

    @strawberry.field
    def review_count(self) -> int:
        return sum(1 for r in d.DATA.reviews.values() if r.author_id == self.row.id)

    @strawberry.field
    def reviews(self) -> list[Review]:
        return [_review(r) for r in d.DATA.reviews.values() if r.author_id == self.row.id]


@strawberry.type(name="Product")
class Product:
    row: strawberry.Private[d.ProductRow]

    @strawberry.field
    def sku(self) -> str:
        return self.row.sku

    @strawberry.field
    def price(self) -> int | None:
        return self.row.price

    @strawberry.field
    def weight(self) -> int | None:
        return self.row.weight

    @strawberry.field
    def in_stock(self) -> bool:
        return d.in_stock(self.row.sku)

    @strawberry.field
    def shipping_estimate(self) -> int | None:
        return d.shipping_estimate(self.row.price, self.row.weight)

    @strawberry.field
    def upc(self) -> str:
        return self.row.upc

    @strawberry.field
    def name(self) -> str | None:
        return self.row.name

    @strawberry.field
    def seller(self) -> Seller | None:
        if self.row.seller is None:
            return None
        return Seller(market=Market(code=self.row.seller[0]), number=self.row.seller[1])

    @strawberry.field
    def reviews(self) -> list[Review]:
        return [_review(r) for r in d.DATA.reviews.values() if r.product_upc == self.row.upc]


@strawberry.type(name="Review")
class Review(Node):
    row: strawberry.Private[d.ReviewRow]

    @strawberry.field
    def body(self) -> str:
        return d.review_body(self.row)

    @strawberry.field
    def author(self) -> User:
        return _user(d.DATA.users[self.row.author_id])

    @strawberry.field
    def product(self) -> Product:
        return Product(row=d.DATA.products[self.row.product_upc])


def _user(row: d.UserRow) -> User:
    return User(id=strawberry.ID(row.id), row=row)


def _review(row: d.ReviewRow) -> Review:
    return Review(id=strawberry.ID(row.id), row=row)


SearchResult = Annotated[User | Product, strawberry.union("SearchResult")]


def _node(id: str) -> Node | None:
    if id in d.DATA.users:
        return _user(d.DATA.users[id])
    if id in d.DATA.reviews:
        return _review(d.DATA.reviews[id])
    return None


@strawberry.type(name="Query")
class Query:
    @strawberry.field
    def me(self) -> User:
        return _user(d.DATA.users["1"])

    @strawberry.field
    def user(self, id: strawberry.ID) -> User | None:
        row = d.DATA.users.get(id)
        return _user(row) if row else None

    @strawberry.field
    def users(self) -> list[User]:
        return [_user(row) for row in d.DATA.users.values()]

    @strawberry.field
    def top_products(self, first: int = 4) -> list[Product | None]:
        return [Product(row=row) for row in d.top_products(first)]

    @strawberry.field
    def product(self, upc: str) -> Product | None:
        row = d.DATA.products.get(upc)
        return Product(row=row) if row else None

    @strawberry.field
    def search(self, text: str) -> list[SearchResult]:
        users, products = d.search_names(text)
        results: list[User | Product] = [_user(u) for u in users]
        results += [Product(row=p) for p in products]
        return results

    @strawberry.field
    def node(self, id: strawberry.ID) -> Node | None:
        return _node(id)

    @strawberry.field
    def nodes(self, ids: list[strawberry.ID]) -> list[Node]:
        return [node for node in map(_node, ids) if node is not None]


@strawberry.type(name="Mutation")
class Mutation:
    @strawberry.mutation
    def rename_user(self, id: strawberry.ID, name: str) -> User:
        return _user(d.rename_user(id, name))

    @strawberry.mutation
    def add_review(self, upc: str, author_id: strawberry.ID, body: str) -> Review:
        return _review(d.add_review(upc, author_id, body))


def build_monolith() -> strawberry.Schema:
    return strawberry.Schema(query=Query, mutation=Mutation, types=[User, Review])
