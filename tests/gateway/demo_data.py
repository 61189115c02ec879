"""The data behind the demo subgraphs and the monolith: one source, so answers can be compared."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field


@dataclass
class UserRow:
    id: str
    name: str
    username: str
    birth_date: str
    role: str


@dataclass
class ProductRow:
    upc: str
    sku: str
    name: str
    price: int
    weight: int
    seller: tuple[str, int] | None  # (market code, number): Seller's composite key


@dataclass
class ReviewRow:
    id: str
    body: str
    author_id: str
    product_upc: str


@dataclass
class SellerRow:
    market: str
    number: int
    name: str
    rating: float


@dataclass
class DemoData:
    users: dict[str, UserRow]
    products: dict[str, ProductRow]
    reviews: dict[str, ReviewRow]
    sellers: dict[tuple[str, int], SellerRow]
    stock: dict[str, bool]  # by sku
    mutation_log: list[str] = field(default_factory=list)


# Resolvers that raise on purpose, for error paths and null propagation.
BROKEN_SKU = "BROKEN-1"  # Product.inStock: Boolean! raises
BROKEN_REVIEW = "r5"  # Review.body: String! raises
BROKEN_BIRTHDATE_USER = "2"  # User.birthDate: String (nullable) raises

_INITIAL = DemoData(
    users={
        "1": UserRow("1", "Ada Lovelace", "@ada", "1815-12-10", "ADMIN"),
        "2": UserRow("2", "Alan Turing", "@complete", "1912-06-23", "MEMBER"),
        "3": UserRow("3", "Grace Hopper", "@grace", "1906-12-09", "MEMBER"),
    },
    products={
        "1": ProductRow("1", "TABLE-1", "Table", 899, 100, ("KM", 1)),
        "2": ProductRow("2", "COUCH-1", "Couch", 1299, 1000, ("KM", 2)),
        "3": ProductRow("3", "CHAIR-1", "Chair", 54, 50, ("KM", 1)),
        "4": ProductRow("4", "LAMP-1", "Lamp", 30, 5, None),
        "5": ProductRow("5", BROKEN_SKU, "Broken Stool", 10, 8, ("DL", 7)),
    },
    reviews={
        "r1": ReviewRow("r1", "Love it!", "1", "1"),
        "r2": ReviewRow("r2", "Too expensive.", "1", "2"),
        "r3": ReviewRow("r3", "Could be better.", "2", "3"),
        "r4": ReviewRow("r4", "Prefer something else.", "2", "1"),
        "r5": ReviewRow("r5", "(unreadable)", "3", "4"),
    },
    sellers={
        ("KM", 1): SellerRow("KM", 1, "Kunming Furniture", 4.5),
        ("KM", 2): SellerRow("KM", 2, "Dianchi Sofas", 3.9),
        ("DL", 7): SellerRow("DL", 7, "Dali Woodworks", 4.8),
    },
    stock={"TABLE-1": True, "COUCH-1": False, "CHAIR-1": True, "LAMP-1": False},
)

DATA = copy.deepcopy(_INITIAL)


def reset_data() -> None:
    fresh = copy.deepcopy(_INITIAL)
    DATA.users, DATA.products, DATA.reviews = fresh.users, fresh.products, fresh.reviews
    DATA.sellers, DATA.stock, DATA.mutation_log = fresh.sellers, fresh.stock, []


def top_products(first: int) -> list[ProductRow]:
    return list(DATA.products.values())[:first]


def shipping_estimate(price: int, weight: int) -> int:
    return 0 if price > 1000 else weight // 2


def in_stock(sku: str) -> bool:
    if sku == BROKEN_SKU:
        raise ValueError("inventory record is corrupt")
    return DATA.stock[sku]


def review_body(review: ReviewRow) -> str:
    if review.id == BROKEN_REVIEW:
        raise ValueError("review body could not be decoded")
    return review.body


def birth_date(user: UserRow) -> str:
    if user.id == BROKEN_BIRTHDATE_USER:
        raise PermissionError("birth date is private")
    return user.birth_date


def search_names(text: str) -> tuple[list[UserRow], list[ProductRow]]:
    needle = text.lower()
    users = [u for u in DATA.users.values() if needle in u.name.lower()]
    products = [p for p in DATA.products.values() if needle in p.name.lower()]
    return users, products


def add_review(upc: str, author_id: str, body: str) -> ReviewRow:
    review = ReviewRow(f"r{len(DATA.reviews) + 1}", body, author_id, upc)
    DATA.reviews[review.id] = review
    DATA.mutation_log.append(f"addReview:{review.id}")
    return review


def rename_user(user_id: str, name: str) -> UserRow:
    user = DATA.users[user_id]
    user.name = name
    DATA.mutation_log.append(f"renameUser:{user_id}:{name}")
    return user
