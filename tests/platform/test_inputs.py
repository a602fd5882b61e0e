"""core.platform.inputs, one row per input: the cleaned value, or the exact message."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.platform.inputs import check_password_strength, clean_email, clean_text, clean_username

USERNAME_RULE = (
    "Username must be 3-32 characters: letters, digits, '.', '_' or '-', "
    "starting with a letter or digit."
)
TOO_MANY_BYTES = (
    "Password is too long (at most 72 bytes; accented letters and symbols count as several)."
)


def label(value, required=True):
    return clean_text(value, "Label", max_len=10, required=required)


# id: (call, cleaned value)
GOOD = {
    "text is trimmed": (lambda: label("  hi there "), "hi there"),
    "text of exactly max_len": (lambda: label("x" * 10), "x" * 10),
    "text: letters beyond ASCII": (lambda: label("ünïcødé 🙂"), "ünïcødé 🙂"),
    "text: optional and empty": (lambda: label("", required=False), ""),
    "text: optional and blank": (lambda: label("   ", required=False), ""),
    "username is lower-cased": (lambda: clean_username("Alice"), "alice"),
    "username is trimmed": (lambda: clean_username("  bob_1 "), "bob_1"),
    "username with . _ -": (lambda: clean_username("a.b-c_d"), "a.b-c_d"),
    "username of 3": (lambda: clean_username("abc"), "abc"),
    "username of 32": (lambda: clean_username("a" * 32), "a" * 32),
    "email is lower-cased": (lambda: clean_email("Alice@Example.COM"), "alice@example.com"),
    "email is trimmed, + is fine": (lambda: clean_email(" a.b+c@x.io "), "a.b+c@x.io"),
    "email with a sub-domain": (lambda: clean_email("a@mail.x-y.io"), "a@mail.x-y.io"),
    "password as given": (lambda: check_password_strength("Correct-Horse-9"), "Correct-Horse-9"),
    "password of 8": (lambda: check_password_strength("abcd1234"), "abcd1234"),
    "password of 4 different characters": (lambda: check_password_strength("abcdabcd"), "abcdabcd"),
    "password of 72 bytes": (lambda: check_password_strength("a1b2" * 18), "a1b2" * 18),
    "password unlike the username": (
        lambda: check_password_strength("Correct-Horse-9", username="alice"),
        "Correct-Horse-9",
    ),
}

# id: (call, message)
BAD = {
    "text: a number": (lambda: label(42), "Label must be text."),
    "text: None": (lambda: label(None), "Label must be text."),
    "text: empty": (lambda: label(""), "Label is required."),
    "text: blank": (lambda: label("   "), "Label is required."),
    "text: too long": (lambda: label("x" * 11), "Label is too long (at most 10 characters)."),
    "text: too long before control": (
        lambda: label("x" * 11 + "\x00"),
        "Label is too long (at most 10 characters).",
    ),
    "text: NUL": (lambda: label("a\x00b"), "Label contains control characters."),
    "text: newline": (lambda: label("a\nb"), "Label contains control characters."),
    "text: tab": (lambda: label("a\tb"), "Label contains control characters."),
    "text: lone surrogate": (lambda: label("a\ud800"), "Label contains control characters."),
    "username: a number": (lambda: clean_username(5), "Username must be text."),
    "username: empty": (lambda: clean_username(""), "Username is required."),
    "username: too long": (
        lambda: clean_username("a" * 33),
        "Username is too long (at most 32 characters).",
    ),
    "username: too short": (lambda: clean_username("ab"), USERNAME_RULE),
    "username: starts with _": (lambda: clean_username("_abc"), USERNAME_RULE),
    "username: a space inside": (lambda: clean_username("ali ce"), USERNAME_RULE),
    "username: non-ASCII letters": (lambda: clean_username("日本語"), USERNAME_RULE),
    "username: SQL": (lambda: clean_username("x'; DROP TABLE user;--"), USERNAME_RULE),
    "username: control": (
        lambda: clean_username("ab\x00c"),
        "Username contains control characters.",
    ),
    "email: empty": (lambda: clean_email(""), "Email is required."),
    "email: not text": (lambda: clean_email(None), "Email must be text."),
    "email: no @": (lambda: clean_email("alice.example.com"), "Email is not a valid address."),
    "email: no dot in the domain": (
        lambda: clean_email("a@localhost"),
        "Email is not a valid address.",
    ),
    "email: a space": (lambda: clean_email("a b@x.io"), "Email is not a valid address."),
    "email: two @": (lambda: clean_email("a@b@x.io"), "Email is not a valid address."),
    "email: non-ASCII": (lambda: clean_email("ü@x.io"), "Email is not a valid address."),
    "email: too long": (
        lambda: clean_email("a" * 250 + "@x.io"),
        "Email is too long (at most 254 characters).",
    ),
    "email: control": (lambda: clean_email("a\x00@x.io"), "Email contains control characters."),
    "password: empty": (lambda: check_password_strength(""), "Password is required."),
    "password: None": (lambda: check_password_strength(None), "Password is required."),
    "password: a number": (lambda: check_password_strength(12345678), "Password is required."),
    "password: leading space": (
        lambda: check_password_strength(" Correct-Horse-9"),
        "Password must not start or end with a space.",
    ),
    "password: trailing space": (
        lambda: check_password_strength("Correct-Horse-9 "),
        "Password must not start or end with a space.",
    ),
    "password: 7 characters": (
        lambda: check_password_strength("Ab1-xyz"),
        "Password is too short (at least 8 characters).",
    ),
    "password: 73 bytes": (lambda: check_password_strength("a1b2" * 18 + "c"), TOO_MANY_BYTES),
    "password: 37 accented letters are 74 bytes": (
        lambda: check_password_strength("é" * 37),
        TOO_MANY_BYTES,
    ),
    "password: control": (
        lambda: check_password_strength("abcd\x00efgh"),
        "Password contains control characters.",
    ),
    "password: the username in other case": (
        lambda: check_password_strength("Alice-Pass-1", username="alice-pass-1"),
        "Password must not be the same as the username.",
    ),
    "password: one character": (
        lambda: check_password_strength("aaaaaaaa"),
        "Password is too weak: use more different characters.",
    ),
    "password: three different characters": (
        lambda: check_password_strength("abcabcab"),
        "Password is too weak: use more different characters.",
    ),
}


@pytest.mark.parametrize(("call", "cleaned"), GOOD.values(), ids=GOOD)
def test_good_input_is_cleaned(call, cleaned):
    assert call() == cleaned


@pytest.mark.parametrize(("call", "message"), BAD.values(), ids=BAD)
def test_bad_input_is_refused_with_the_message(call, message):
    with pytest.raises(InvalidInput) as refused:
        call()
    assert refused.value.message == message
