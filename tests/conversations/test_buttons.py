"""The button data codec, as its users see it: what packs, what unpacks, what is refused."""
from __future__ import annotations

import pytest

from bot.conversations import buttons as b
from bot.conversations.buttons import MAX_ID, unpack

EVERY_KIND = [
    b.Menu("file"),
    b.Intake("q.employer", "skip"),
    b.AskQuery(),
    b.OpenCase("HY20260101-00001"),
    b.AddInfo("HY20260101-00001"),
    b.Supplement("done"),
    b.RateOverall(12, "satisfied"),
    b.RateAspect(12, "speed", 5),
    b.NoComment(0),
    b.AskReview(MAX_ID),
    b.CancelReview(),
    b.StaffAction("accept", 1, 2),
    b.StaffChoice(1, 2, "hrss"),
    b.StaffCancel(MAX_ID, 0),
    b.StaffLink(MAX_ID, 1),
    b.StaffGroupReply(3, MAX_ID),
    b.LiveTake(MAX_ID),
    b.LiveStart(7),
    b.Appoint(),
    b.PickSlot(MAX_ID),
    b.WaitForSlot(1),
    b.PickCase(2),
    b.CancelBooking(3),
    b.MoveBooking(MAX_ID),
    b.QuitAppointment(),
]


def test_every_kind_is_covered():
    assert {type(button) for button in EVERY_KIND} == set(b._KINDS.values())


@pytest.mark.parametrize("button", EVERY_KIND, ids=lambda x: type(x).__name__)
def test_round_trip(button):
    data = button.pack()
    assert len(data.encode()) <= 64
    assert unpack(data) == button and type(unpack(data)) is type(button)


def test_packed_form():
    assert b.RateOverall(12, "satisfied").pack() == "r:o:12:satisfied"
    assert b.AskQuery().pack() == "p:query"


@pytest.mark.parametrize("button", [
    b.OpenCase("案" * 20),        # 27 characters, but 67 bytes in UTF-8
    b.Menu("x" * 63),             # 65 bytes
    b.Menu("a:b"),                # the separator inside a field
    b.StaffChoice(1, 2, "hrss:x"),
])
def test_refuses_to_pack(button):
    with pytest.raises(ValueError):
        button.pack()


@pytest.mark.parametrize("data", [
    "", "zz:file", "x:o:12:satisfied",             # unknown prefix
    "r:o:12", "r:o:12:satisfied:extra", "m", "m:file:more", "p:query:1",  # field count
    "m:", "r:o:12:", "r:c:", "s:accept::2",        # an empty field
    "r:c:abc", "r:c:1.5", "r:c:+1", "r:c: 1",      # not digits
    "r:c:-1",                                      # negative
    "r:c:99999999999999999999", "r:c:2147483648",  # over 2**31-1
    "r:c:１２", "s:accept:１:2",                     # full-width digits
    "p:case:" + "案" * 20,                          # over 64 bytes (27 characters)
    "m:" + "x" * 63,
])
def test_unpack_refuses(data):
    assert unpack(data) is None


@pytest.mark.parametrize("data, expected", [
    ("s:v:1:2:hrss", b.StaffChoice(1, 2, "hrss")),
    ("s:x:1:2", b.StaffCancel(1, 2)),       # would also read as StaffAction("x", 1, 2)
    ("s:accept:1:2", b.StaffAction("accept", 1, 2)),
])
def test_unpack_picks_the_longest_prefix(data, expected):
    found = unpack(data)
    assert found == expected and type(found) is type(expected)
