"""Configuration from the environment, read once at start-up and passed in explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEV_PERSON_KEY_SECRET = "xinfang-development-person-key"


@dataclass(frozen=True)
class Settings:
    database_url: str | None  # None: start the embedded PostgreSQL
    data_dir: Path  # embedded PostgreSQL and other local state
    database_name: str  # created on the server when missing
    person_key_secret: bytes  # keys the privacy-preserving person key (a province's secret)
    calendar_file: Path | None  # replaces the packaged holiday calendar

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        calendar = env.get("XINFANG_CALENDAR")
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(env.get("XINFANG_DATA_DIR", str(PROJECT_ROOT / ".data"))),
            database_name=env.get("XINFANG_DATABASE", "xinfang"),
            person_key_secret=env.get("XINFANG_PERSON_KEY_SECRET", DEV_PERSON_KEY_SECRET).encode(),
            calendar_file=Path(calendar) if calendar else None,
        )
