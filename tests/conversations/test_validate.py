"""Typed values as citizens write them: phone numbers with or without separators."""
from __future__ import annotations

import pytest

from bot.conversations.validate import parse_phone


@pytest.mark.parametrize(("typed", "stored"), [
    ("13812345678", "13812345678"), ("+86 138 1234 5678", "13812345678"),
    ("010-12345678", "010-12345678"), ("01012345678", "010-12345678"),
    ("021 6234 5678", "021-62345678"), ("0755-87654321", "0755-87654321"),
    ("075587654321", "0755-87654321"), ("0571-8888888", "0571-8888888"),
    ("010-12345678转123", "010-12345678转123"),
])
def test_phone_numbers_keep_their_area_code(typed, stored):
    assert parse_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "1381234567", "电话没有", "0101234"])
def test_what_is_no_phone_number(typed):
    assert parse_phone(typed) is None
