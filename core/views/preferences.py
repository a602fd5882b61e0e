"""A person's display preferences, kept in the key-value `AppSetting` table (no migration).

The key names the user by id AND creation time, so a later account that happens to get a
deleted user's id does not inherit their choices."""

from __future__ import annotations

from sqlmodel import Session

from core.models import AppSetting, User
from core.platform.present import to_datetime

TIMES_IN_UTC = "times_utc"


def _key(user: User, name: str) -> str:
    created = int(to_datetime(user.created_at).timestamp())
    return f"user.{user.id}.{created}.{name}"  # at most 64 characters


def times_in_utc(session: Session, *, user: User) -> bool:
    """Whether this person wants times in UTC rather than in their browser's time zone."""
    row = session.get(AppSetting, _key(user, TIMES_IN_UTC))
    return row is not None and row.value == "1"


def set_times_in_utc(session: Session, *, user: User, on: bool) -> None:
    key = _key(user, TIMES_IN_UTC)
    row = session.get(AppSetting, key) or AppSetting(key=key, value="0")
    row.value = "1" if on else "0"
    session.add(row)
