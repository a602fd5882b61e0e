"""Rules for text that users type. Every service runs its input through these first.

Each function returns the cleaned value or raises `InvalidInput` with a message that names the
field and never echoes a secret back.
"""

from __future__ import annotations

import re
import unicodedata

from core.errors import InvalidInput

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
PASSWORD_MIN, PASSWORD_MAX_BYTES = 8, 72  # bcrypt reads at most 72 bytes


def _reject_control(value: str, field: str) -> None:
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise InvalidInput(f"{field} contains control characters.")


def clean_text(value: object, field: str, *, max_len: int, required: bool = True) -> str:
    """Trimmed single-line text of at most `max_len` characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text.")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is required.")
    if len(value) > max_len:
        raise InvalidInput(f"{field} is too long (at most {max_len} characters).")
    _reject_control(value, field)
    return value


def clean_username(value: object) -> str:
    name = clean_text(value, "Username", max_len=32).lower()
    if not USERNAME_RE.fullmatch(name):
        raise InvalidInput(
            "Username must be 3-32 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def clean_email(value: object) -> str:
    email = clean_text(value, "Email", max_len=254)
    if not EMAIL_RE.fullmatch(email) or not email.isascii():
        raise InvalidInput("Email is not a valid address.")
    return email.lower()


def check_password_strength(value: object, *, username: str = "") -> str:
    """A new password: 8+ characters, at most 72 bytes, no surrounding spaces, not the username."""
    if not isinstance(value, str) or not value:
        raise InvalidInput("Password is required.")
    if value != value.strip():
        raise InvalidInput("Password must not start or end with a space.")
    if len(value) < PASSWORD_MIN:
        raise InvalidInput(f"Password is too short (at least {PASSWORD_MIN} characters).")
    if len(value.encode("utf-8", errors="replace")) > PASSWORD_MAX_BYTES:
        raise InvalidInput(
            f"Password is too long (at most {PASSWORD_MAX_BYTES} bytes; accented letters "
            "and symbols count as several)."
        )
    _reject_control(value, "Password")
    if username and value.lower() == username.lower():
        raise InvalidInput("Password must not be the same as the username.")
    if len(set(value)) < 4:
        raise InvalidInput("Password is too weak: use more different characters.")
    return value
