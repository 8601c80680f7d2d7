"""Button data, typed: each kind of button is a small class with a prefix and fields, packed
to Telegram's ``callback_data`` (at most 64 bytes, checked here) and unpacked from it. Button
data comes from the chat and may be forged: ``unpack`` returns None for anything malformed,
and every number is range-checked, so no handler ever sees a bad id.

    RateOverall(case_id=12, rating="satisfied").pack()  ->  "r:o:12:satisfied"
    unpack("r:o:12:satisfied")                          ->  RateOverall(12, "satisfied")
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Self

MAX_BYTES = 64          # Telegram's limit for callback data
MAX_ID = 2**31 - 1      # ids and versions fit a 32-bit INTEGER column on every database
SEP = ":"

_KINDS: dict[str, type[ButtonData]] = {}


class ButtonData:
    """Base of the button kinds; subclasses are frozen dataclasses with ``prefix=``."""

    prefix: ClassVar[str]

    def __init_subclass__(cls, *, prefix: str, **kw) -> None:
        super().__init_subclass__(**kw)
        if prefix in _KINDS:
            raise ValueError(f"two button kinds with prefix {prefix!r}")
        cls.prefix = prefix
        _KINDS[prefix] = cls

    @classmethod
    def _fields(cls) -> tuple[tuple[str, bool, bool], ...]:
        """(name, is an int, required) of each field, worked out once per kind."""
        found = cls.__dict__.get("_field_table")
        if found is None:
            found = tuple((f.name, f.type in ("int", int), f.default is dataclasses.MISSING)
                          for f in dataclasses.fields(cls))
            cls._field_table = found
        return found

    def pack(self) -> str:
        values = [str(getattr(self, name)) for name, _, _ in self._fields()]
        for value in values:
            if SEP in value:
                raise ValueError(f"{SEP!r} inside a button field: {value!r}")
        data = SEP.join([self.prefix, *values])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        return data

    @classmethod
    def _from_parts(cls, parts: list[str]) -> Self | None:
        fields = cls._fields()
        required = sum(1 for _, _, needed in fields if needed)
        if not required <= len(parts) <= len(fields):
            return None
        values = {}
        for (name, is_int, _), raw in zip(fields, parts, strict=False):
            if is_int:
                if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or int(raw) > MAX_ID:
                    return None
                values[name] = int(raw)
            else:
                if not raw:
                    return None
                values[name] = raw
        return cls(**values)


def unpack(data: str) -> ButtonData | None:
    """The button behind ``data``, or None when it is no button of ours or malformed. The
    longest matching prefix wins (``s:v`` before ``s``)."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(SEP)
    for n in (2, 1):
        kind = _KINDS.get(SEP.join(parts[:n]))
        if kind is not None and len(parts) >= n:
            found = kind._from_parts(parts[n:])
            if found is not None:
                return found
    return None


# ---------------------------------------------------------------- the citizen's buttons

@dataclass(frozen=True)
class Menu(ButtonData, prefix="m"):
    action: str                   # file, file_text, progress, help


@dataclass(frozen=True)
class Intake(ButtonData, prefix="i"):
    step: str                     # the step the button belongs to: older buttons are stale
    action: str


@dataclass(frozen=True)
class AskQuery(ButtonData, prefix="p:query"):
    pass


@dataclass(frozen=True)
class OpenCase(ButtonData, prefix="p:case"):
    number: str


@dataclass(frozen=True)
class AddInfo(ButtonData, prefix="p:add"):
    number: str


@dataclass(frozen=True)
class Supplement(ButtonData, prefix="a"):
    action: str                   # done, cancel


@dataclass(frozen=True)
class RateOverall(ButtonData, prefix="r:o"):
    case_id: int
    rating: str


@dataclass(frozen=True)
class RateAspect(ButtonData, prefix="r:a"):
    case_id: int
    aspect: str
    score: int


@dataclass(frozen=True)
class NoComment(ButtonData, prefix="r:c"):
    case_id: int


@dataclass(frozen=True)
class AskReview(ButtonData, prefix="r:v"):
    case_id: int


@dataclass(frozen=True)
class CancelReview(ButtonData, prefix="r:x"):
    pass


# ---------------------------------------------------------------- staff buttons

@dataclass(frozen=True)
class StaffAction(ButtonData, prefix="s"):
    action: str                   # a lifecycle action
    case_id: int
    version: int                  # the case as the presser saw it


@dataclass(frozen=True)
class StaffChoice(ButtonData, prefix="s:v"):
    case_id: int
    version: int
    choice: str                   # a department key, a leader's index, an outcome key


@dataclass(frozen=True)
class StaffCancel(ButtonData, prefix="s:x"):
    case_id: int
    version: int


@dataclass(frozen=True)
class StaffLink(ButtonData, prefix="s:l"):
    case_id: int                  # the new case …
    to_id: int                    # … linked to this one's group


@dataclass(frozen=True)
class StaffGroupReply(ButtonData, prefix="s:g"):
    case_id: int                  # the main case whose reply goes to the rest of its group
    version: int


@dataclass(frozen=True)
class LiveTake(ButtonData, prefix="s:t"):
    live_id: int                  # a citizen's waiting request for a person, taken by the presser


@dataclass(frozen=True)
class LiveStart(ButtonData, prefix="s:c"):
    case_id: int                  # start talking with this case's citizen


# ---------------------------------------------------------------- reception days (预约接访)

@dataclass(frozen=True)
class Appoint(ButtonData, prefix="ap:go"):
    pass                          # start booking (the main menu's 「预约接访」)


@dataclass(frozen=True)
class PickSlot(ButtonData, prefix="ap:slot"):
    slot_id: int


@dataclass(frozen=True)
class WaitForSlot(ButtonData, prefix="ap:wait"):
    slot_id: int                  # join the full slot's waiting list


@dataclass(frozen=True)
class PickCase(ButtonData, prefix="ap:case"):
    case_id: int


@dataclass(frozen=True)
class CancelBooking(ButtonData, prefix="ap:x"):
    booking_id: int


@dataclass(frozen=True)
class MoveBooking(ButtonData, prefix="ap:mv"):
    booking_id: int               # reschedule: pick another slot


@dataclass(frozen=True)
class QuitAppointment(ButtonData, prefix="ap:q"):
    pass
