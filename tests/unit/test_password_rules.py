"""The rules a new mailbox password is held to: what they accept and refuse, the messages never
quoting the value, and the pattern published in the OpenAPI document agreeing with them."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from inboxfleet.api.credential_views import ACCEPTED_PATTERN, PasswordChange

GOOD = [
    "correct-Horse7battery",
    "Aa1!Bb2#Cc3$",
    "!#$%&()*,./:;<>?[]^_`{|}~",  # symbols only, none of them = + - @ first
    "x" * 60 + "yzabcdefghij" + "q" * 56,  # 128 characters
    "a@b=c+d-e!f9",  # = + - @ are fine after the first character
]
BAD = {
    "too short": "Ab1!xyz",
    "too long": "Ab1!efghij" + "k" * 119,
    "a space": "correct horse battery",
    "a tab": "correct\thorse7battery",
    "a line break": "correct\nhorse7battery",
    "non-ASCII": "corrécthorse7battery",
    "begins with =": "=correcthorse7",
    "begins with +": "+correcthorse7",
    "begins with -": "-correcthorse7",
    "begins with @": "@correcthorse7",
    "too few different characters": "abababababab",
    "one character": "aaaaaaaaaaaaaaaa",
}


@pytest.mark.parametrize("password", GOOD)
def test_a_good_password_is_taken(password: str) -> None:
    assert PasswordChange(password=password).password == password
    assert re.fullmatch(ACCEPTED_PATTERN, password)


@pytest.mark.parametrize("password", BAD.values(), ids=BAD.keys())
def test_a_bad_password_is_refused_without_being_quoted(password: str) -> None:
    with pytest.raises(ValidationError) as refused:
        PasswordChange(password=password)
    [problem] = refused.value.errors()
    assert problem["loc"] == ("password",)
    assert password not in str(refused.value)
    assert password not in problem["msg"]


# What the pattern says (lengths are minLength/maxLength, and "different characters" is not a
# pattern's to say): the characters, and the first one.
BY_PATTERN = [
    "a space",
    "a tab",
    "a line break",
    "non-ASCII",
    *(f"begins with {c}" for c in "=+-@"),
]


@pytest.mark.parametrize("why", BY_PATTERN)
def test_the_published_pattern_refuses_what_the_rules_refuse(why: str) -> None:
    assert not re.fullmatch(ACCEPTED_PATTERN, BAD[why])


def test_no_other_field_is_taken() -> None:
    with pytest.raises(ValidationError):
        PasswordChange.model_validate({"password": "correct-Horse7battery", "user": "x"})


def test_the_schema_publishes_the_rules() -> None:
    schema = PasswordChange.model_json_schema()["properties"]["password"]
    assert (schema["minLength"], schema["maxLength"], schema["pattern"]) == (
        12,
        128,
        ACCEPTED_PATTERN,
    )
    assert schema["writeOnly"] is True
