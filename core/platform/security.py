"""Password hashing (bcrypt) and secret masking."""

from __future__ import annotations

import bcrypt


def hash_password(password: str) -> str:
    """bcrypt hash; inputs.check_password_strength has already capped the length at 72 bytes."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


def check_password_hash(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:  # over 72 bytes or a malformed stored hash: never a match
        return False


def mask_key(value: str) -> str:
    """First 4 and last 4 characters of an API key; short keys are fully masked."""
    if len(value) < 12:
        return "…"
    return f"{value[:4]}…{value[-4:]}"
