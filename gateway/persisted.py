"""Persisted queries: documents known by their SHA-256, and the allow-list mode.

A *manifest* (Apollo's persisted-query manifest format, so its tooling works too) lists the
documents a client ships: ``{"format": "apollo-persisted-query-manifest", "version": 1,
"operations": [{"id": <sha256 of body>, "name": ..., "type": "query", "body": ...}]}``.
``xinfang persisted-queries FILE.graphql ... -o manifest.json`` writes one, each file's text
verbatim as one body (a client sends exactly that text, or only its hash).

A request may carry ``extensions.persistedQuery = {"version": 1, "sha256Hash": h}``:

- without ``query``: the document is looked up by ``h`` (manifest first, then documents
  registered earlier); unknown → ``PERSISTED_QUERY_NOT_FOUND`` (an automatic-persisted-query
  client then sends hash and text together);
- with ``query``: the text must hash to ``h`` (``PERSISTED_QUERY_HASH_MISMATCH``); outside the
  allow-list mode the pair is remembered (a bounded cache), so later requests may send the
  hash alone.

In the *allow-list mode* (``XINFANG_ALLOW_LIST=1`` with a manifest) only manifest documents run,
sent by hash or as text, except for users holding one of ``adhoc_roles`` (analysts, by
default: writing ad-hoc GraphQL is their work); anything else is
``PERSISTED_QUERY_NOT_IN_LIST``. The dashboard's documents are such a manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import GraphQLSyntaxError, OperationDefinitionNode, parse

from shared.auth import Principal, Role

__all__ = [
    "PERSISTED_QUERY_HASH_MISMATCH",
    "PERSISTED_QUERY_NOT_FOUND",
    "PERSISTED_QUERY_NOT_IN_LIST",
    "PersistedQueries",
    "PersistedQueryError",
    "build_manifest",
    "main",
    "sha256",
]

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
MANIFEST_FORMAT = "apollo-persisted-query-manifest"


class PersistedQueryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class PersistedQueries:
    documents: Mapping[str, str] = field(default_factory=dict)  # sha256 -> body
    allow_list: bool = False
    adhoc_roles: frozenset[Role] = frozenset({Role.ANALYST})
    cache_size: int = 10_000
    _registered: OrderedDict[str, str] = field(default_factory=OrderedDict, repr=False)

    def __post_init__(self) -> None:
        if self.allow_list and not self.documents:
            raise ValueError("the allow-list mode needs a manifest with at least one document")
        for digest, body in self.documents.items():
            if sha256(body) != digest:
                raise ValueError(f"manifest entry {digest} does not match its body's SHA-256")

    @classmethod
    def from_manifest(
        cls,
        path: Path,
        *,
        allow_list: bool = False,
        adhoc_roles: Iterable[Role] = (Role.ANALYST,),
    ) -> PersistedQueries:
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read the persisted-query manifest {path}: {error}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"{path} is not an {MANIFEST_FORMAT} (its 'format')")
        operations = manifest.get("operations")
        if not isinstance(operations, list) or not all(
            isinstance(o, dict) and isinstance(o.get("id"), str) and isinstance(o.get("body"), str)
            for o in operations
        ):
            raise ValueError(f"{path}: 'operations' must be a list of objects with id and body")
        documents = {o["id"]: o["body"] for o in operations}
        return cls(documents, allow_list=allow_list, adhoc_roles=frozenset(adhoc_roles))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PersistedQueries:
        """``XINFANG_PERSISTED_QUERIES`` (a manifest file), ``XINFANG_ALLOW_LIST`` (``1``: only
        its documents run) and ``XINFANG_ADHOC_ROLES`` (comma-separated roles exempt from the
        allow list; default ``analyst``; empty: nobody)."""
        env = os.environ if env is None else env
        allow_list = env.get("XINFANG_ALLOW_LIST", "0").strip().lower() in ("1", "true", "yes")
        raw_roles = env.get("XINFANG_ADHOC_ROLES", Role.ANALYST.value)
        try:
            roles = frozenset(Role(r.strip()) for r in raw_roles.split(",") if r.strip())
        except ValueError:
            raise ValueError(f"XINFANG_ADHOC_ROLES names an unknown role: {raw_roles!r}") from None
        manifest = env.get("XINFANG_PERSISTED_QUERIES")
        if manifest:
            return cls.from_manifest(Path(manifest), allow_list=allow_list, adhoc_roles=roles)
        if allow_list:
            raise ValueError("XINFANG_ALLOW_LIST=1 needs XINFANG_PERSISTED_QUERIES (a manifest)")
        return cls(adhoc_roles=roles)

    def resolve(self, payload: Mapping[str, Any], principal: Principal | None) -> str:
        """The document text a request runs; PersistedQueryError when it may not run."""
        query = payload.get("query")
        extension = (payload.get("extensions") or {}).get("persistedQuery")
        digest: str | None = None
        looked_up = False
        if extension is not None:
            if not isinstance(extension, dict) or not isinstance(extension.get("sha256Hash"), str):
                raise PersistedQueryError(
                    "BAD_REQUEST", "extensions.persistedQuery needs a 'sha256Hash' string."
                )
            digest = extension["sha256Hash"].lower()
        if query is None and digest is not None:
            found = self.documents.get(digest) or self._registered.get(digest)
            if found is None:
                raise PersistedQueryError(
                    PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound: send the query text too."
                )
            if digest in self._registered:
                self._registered.move_to_end(digest)
            query, looked_up = found, True
        if not isinstance(query, str):
            raise PersistedQueryError(
                "BAD_REQUEST", "A JSON body with a 'query' string is required."
            )
        if digest is None and not self.allow_list:
            return query  # the common case: a plain query, nothing to hash (the cache hashes)
        text_digest = digest if looked_up and digest is not None else sha256(query)
        if digest is not None and digest != text_digest:
            raise PersistedQueryError(
                PERSISTED_QUERY_HASH_MISMATCH,
                "The query's SHA-256 does not match extensions.persistedQuery.sha256Hash.",
            )
        if self.allow_list and text_digest not in self.documents and not self._exempt(principal):
            raise PersistedQueryError(
                PERSISTED_QUERY_NOT_IN_LIST,
                "Only the persisted queries of the allow list run here "
                "(ad-hoc queries need one of the roles: "
                f"{', '.join(sorted(self.adhoc_roles)) or 'none'}).",
            )
        if (
            digest is not None
            and not looked_up
            and not self.allow_list
            and digest not in self.documents
        ):
            self._registered[digest] = query
            self._registered.move_to_end(digest)
            while len(self._registered) > self.cache_size:
                self._registered.popitem(last=False)
        return query

    def _exempt(self, principal: Principal | None) -> bool:
        return principal is not None and bool(principal.roles & self.adhoc_roles)


def build_manifest(paths: Sequence[Path]) -> dict[str, Any]:
    """A manifest of ``paths`` (.graphql files, each one document sent verbatim)."""
    operations: list[dict[str, Any]] = []
    for path in paths:
        body = path.read_text(encoding="utf-8")
        try:
            document = parse(body)
        except GraphQLSyntaxError as error:
            raise ValueError(f"{path}: {error.message}") from None
        defined = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if not defined:
            raise ValueError(f"{path}: no operation")
        first = defined[0]
        operations.append(
            {
                "id": sha256(body),
                "name": first.name.value if first.name else path.stem,
                "type": first.operation.value,
                "body": body,
            }
        )
    return {"format": MANIFEST_FORMAT, "version": 1, "operations": operations}


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="xinfang persisted-queries",
        description="Write a persisted-query manifest (the gateway's allow list).",
    )
    parser.add_argument("files", nargs="+", type=Path, help=".graphql files, one document each")
    parser.add_argument("-o", "--output", type=Path, help="manifest file (default: stdout)")
    args = parser.parse_args(list(argv))
    try:
        manifest = build_manifest(args.files)
    except (OSError, ValueError) as error:
        print(f"xinfang persisted-queries: {error}")
        return 2
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    if args.output is None:
        print(text, end="")
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(manifest['operations'])} persisted queries to {args.output}")
    return 0
