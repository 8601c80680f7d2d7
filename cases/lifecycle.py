"""The case lifecycle: states, actions, who may act, and what each step does to the deadlines.

The rules are data (``lifecycle.yaml``, one row per (from-state, action), read by the
catalog); this module checks them and answers one question with a pure function: may this
person do this to a case in this state now, and if so what must be written?
``plan_transition`` returns a ``TransitionPlan`` (new status, event note, deadline changes, the
citizen's message) or raises ``TransitionRefused`` with a message staff or citizens can read.
``CaseService.act`` applies the plan in one transaction: update the case only if its version is
still the one the actor saw, write the case event, change the deadlines; the conversations
then tell the citizen.
"""
from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cases.deadlines import DeadlineRules


class CaseStatus(StrEnum):
    REGISTERED = "registered"
    ROUTED = "routed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_HANDLING = "in_handling"
    EXTENDED = "extended"
    REPLIED = "replied"
    RATED = "rated"
    REVIEW_REQUESTED = "review_requested"
    UNDER_REVIEW = "under_review"
    REVIEWED = "reviewed"
    SECOND_REVIEW = "second_review"
    CLOSED = "closed"




class Action(StrEnum):
    ROUTE = "route"
    ACCEPT = "accept"
    DECLINE = "decline"
    OBJECT = "object"
    ASSIGN_LEADER = "assign_leader"
    START_HANDLING = "start_handling"
    EXTEND = "extend"
    REQUEST_INFO = "request_info"
    INFO_RECEIVED = "info_received"
    ADD_INFO = "add_info"
    REPLY = "reply"
    SEND_BACK = "send_back"
    RATE = "rate"
    REQUEST_REVIEW = "request_review"
    START_REVIEW = "start_review"
    REQUEST_SECOND_REVIEW = "request_second_review"
    CLOSE = "close"
    RECEPTION = "reception"       # a leader's reception day: its outcome, recorded on the case




class Role(StrEnum):
    CITIZEN = "citizen"
    INTAKE = "intake"
    HANDLER = "handler"
    LEADER = "leader"
    SYSTEM = "system"




class TransitionRefused(Exception):
    """The step is not allowed; ``str(exc)`` is the message to show to whoever tried, worded
    in lifecycle.yaml (``refusals``)."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table."""

    status: CaseStatus           # from
    action: Action
    to: CaseStatus
    roles: frozenset[Role]
    requires: tuple[str, ...] = ()
    starts: tuple[str, ...] = ()
    stops: tuple[str, ...] = ()
    pauses: tuple[str, ...] = ()
    resumes: tuple[str, ...] = ()
    extends: str | None = None
    within: str | None = None
    after: str | None = None
    notify: str | None = None
    offered: bool = True         # False: done from its own flow, never a button or a form


@dataclass(frozen=True, slots=True)
class Choice:
    key: str
    label: str
    requires: tuple[str, ...] = ()
    notify: str = ""             # appended to the citizen's message (outcomes)
    offers_review: bool = False


@dataclass(frozen=True, slots=True)
class Lifecycle:
    transitions: Mapping[tuple[CaseStatus, Action], Transition]
    field_labels: Mapping[str, str]
    outcomes: Mapping[str, Choice]
    ratings: Mapping[str, Choice]
    review_offer: str
    rules: DeadlineRules
    timeline: Mapping[str, str] = field(default_factory=dict)  # action -> citizen's words
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # statuses/actions/roles
    refusals: Mapping[str, str] = field(default_factory=dict)
    day_units: Mapping[str, str] = field(default_factory=dict)
    event_notes: Mapping[str, str] = field(default_factory=dict)
    reception_outcomes: Mapping[str, Choice] = field(default_factory=dict)  # 交办, 包案 …

    def status_label(self, status: str) -> str:
        return self.labels["statuses"].get(str(status), str(status))

    def action_label(self, action: str) -> str:
        return self.labels["actions"].get(str(action), str(action))

    def field_words(self, key: str, value: Any) -> str:
        """A step's input as people read it: an outcome or rating by its label."""
        for name, choices in (("outcome", self.outcomes), ("rating", self.ratings),
                              ("reception_outcome", self.reception_outcomes)):
            if key == name and value in choices:
                return choices[value].label
        return str(value)

    def role_label(self, role: str) -> str:
        return self.labels["roles"].get(str(role), str(role))

    def refused(self, reason: str, **values: Any) -> TransitionRefused:
        """The refusal ``reason`` (a key of ``refusals``) in words."""
        return TransitionRefused(self.refusals[reason].format(**values))

    def stale(self, status: str) -> TransitionRefused:
        return self.refused("stale", status=self.status_label(status))

    def row(self, status: CaseStatus, action: Action) -> Transition | None:
        return self.transitions.get((status, action))

    def actions_for(self, status: CaseStatus, role: Role, *, paused: bool = False) -> list[Action]:
        """What ``role`` may do now, in table order: for buttons and menus."""
        return [row.action for (s, _), row in self.transitions.items()
                if s == status and role in row.roles and row.offered
                and not (row.pauses and paused) and not (row.resumes and not paused)]


@dataclass(frozen=True, slots=True)
class TransitionPlan:
    """What to write, all in one transaction."""

    before: CaseStatus
    status: CaseStatus           # after
    action: Action
    role: Role
    note: str                    # the case event's note
    fields: Mapping[str, Any] = field(default_factory=dict)
    starts: tuple[str, ...] = ()
    stops: tuple[str, ...] = ()
    pauses: tuple[str, ...] = ()
    resumes: tuple[str, ...] = ()
    extends: str | None = None   # the deadline kind lengthened by ``extension_days``
    extension_days: int = 0
    citizen_message: str | None = None
    offer_review: bool = False   # show the citizen a "申请复查" button
    ends_pause: bool = False     # the case stops waiting for the citizen

    @property
    def begins_pause(self) -> bool:
        return bool(self.pauses)

    @property
    def changes_status(self) -> bool:
        return self.status != self.before


# --- loading and checking the table -----------------------------------------------------------

_ROW_KEYS = {"from", "action", "to", "roles", "requires", "starts", "stops", "pauses", "resumes",
             "extends", "within", "after", "notify", "offered"}


_LABELLED = {"statuses": CaseStatus, "actions": Action, "roles": Role}
REFUSALS = ("status_changed", "stale", "not_now", "wrong_role", "already_paused", "not_paused",
            "window_passed", "window_open", "field_missing", "days_not_number",
            "days_out_of_range", "extension_cap", "unknown_outcome", "unknown_rating",
            "unknown_reception_outcome")


def parse_lifecycle(raw: dict, rules: DeadlineRules, path: object = "lifecycle") -> Lifecycle:
    """Check the parsed table (``lifecycle.yaml``); a ValueError names the first row that is
    wrong (``path`` names the file)."""
    labels = {key: {str(k): str(v) for k, v in (raw.get(key) or {}).items()} for key in _LABELLED}
    for key, enum in _LABELLED.items():
        unlabelled = [m.value for m in enum if m.value not in labels[key]]
        if unlabelled:
            raise ValueError(f"{path}: {key}: no label for {unlabelled}")
    refusals = {str(k): str(v) for k, v in (raw.get("refusals") or {}).items()}
    if set(REFUSALS) - set(refusals):
        raise ValueError(f"{path}: refusals: missing {sorted(set(REFUSALS) - set(refusals))}")
    field_labels = dict(raw.get("fields") or {})
    outcomes = {k: Choice(k, v["label"], tuple(v.get("requires") or ()), v.get("notify") or "")
                for k, v in (raw.get("outcomes") or {}).items()}
    ratings = {k: Choice(k, v["label"], offers_review=bool(v.get("offers_review")))
               for k, v in (raw.get("ratings") or {}).items()}
    reception_outcomes = {k: Choice(k, str(v["label"]))
                          for k, v in (raw.get("reception_outcomes") or {}).items()}
    limit_names = {f"limit_{kind}" for kind in rules.limits}
    for choice in outcomes.values():
        _check_fields(f"outcome {choice.key}", choice.requires, field_labels)
        _check_template(f"outcome {choice.key}", choice.notify, {*choice.requires, *limit_names})
    _check_template("review_offer", raw.get("review_offer") or "", limit_names)

    transitions: dict[tuple[CaseStatus, Action], Transition] = {}
    for number, item in enumerate(raw.get("transitions") or [], start=1):
        where = f"{path}: transition #{number} ({item.get('action')})"
        unknown = set(item) - _ROW_KEYS
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        try:
            action = Action(item["action"])
            sources = item["from"] if isinstance(item["from"], list) else [item["from"]]
            sources = [CaseStatus(s) for s in sources]
            roles = frozenset(Role(r) for r in item["roles"])
            target = None if item["to"] == "same" else CaseStatus(item["to"])
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
        requires = tuple(item.get("requires") or ())
        _check_fields(where, requires, field_labels)
        kinds = {key: tuple(item.get(key) or ())
                 for key in ("starts", "stops", "pauses", "resumes")}
        single = {key: item.get(key) for key in ("extends", "within", "after")}
        for kind in [k for ks in kinds.values() for k in ks] + [k for k in single.values() if k]:
            if kind not in rules.limits:
                raise ValueError(f"{where}: unknown deadline kind {kind!r}")
        if single["extends"] and "days" not in requires:
            raise ValueError(f"{where}: 'extends' needs 'days' in requires")
        if kinds["pauses"] and kinds["resumes"]:
            raise ValueError(f"{where}: a row cannot both pause and resume")
        notify = item.get("notify")
        if notify is not None:
            extra = {"outcome_detail"} if "outcome" in requires else set()
            _check_template(where, notify, {"case_no", "status", *requires, *limit_names, *extra})
        for status in sources:
            to = target or status
            if (status, action) in transitions:
                raise ValueError(f"{where}: a second row for ({status}, {action})")
            transitions[(status, action)] = Transition(
                status, action, to, roles, requires, extends=single["extends"],
                within=single["within"], after=single["after"], notify=notify,
                offered=bool(item.get("offered", True)), **kinds)

    used = {s for s, _ in transitions} | {row.to for row in transitions.values()}
    for status in sorted(used - {CaseStatus.CLOSED}):
        if not any(s == status and row.to != status for (s, _), row in transitions.items()):
            raise ValueError(f"{path}: no way out of state {status}")
    for watch in rules.schedule.values():
        if watch.expire is not None and watch.expire not in {a.value for a in Action}:
            raise ValueError(f"schedule: {watch.kind}: unknown action {watch.expire!r}")
    timeline = {str(k): str(v) for k, v in (raw.get("timeline") or {}).items()}
    for action, words in timeline.items():
        _check_template(f"timeline {action}", words, set(field_labels))
    return Lifecycle(transitions, field_labels, outcomes, ratings,
                     raw.get("review_offer") or "", rules, timeline, labels, refusals,
                     dict(raw.get("day_units") or {}), dict(raw.get("event_notes") or {}),
                     reception_outcomes)


def _check_fields(where: str, names: tuple[str, ...], labels: Mapping[str, str]) -> None:
    for name in names:
        if name not in labels:
            raise ValueError(f"{where}: field {name!r} has no label under 'fields'")


def _check_template(where: str, template: str, allowed: set[str]) -> None:
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None and name not in allowed:
            raise ValueError(f"{where}: message uses {{{name}}}, which is not given")


# --- the one question -------------------------------------------------------------------------

def plan_transition(status: CaseStatus | str, action: Action | str, role: Role | str, *,
                    expected_status: CaseStatus | str | None = None,
                    fields: Mapping[str, Any] | None = None,
                    paused: bool = False,
                    now: datetime | None = None,
                    deadlines: Mapping[str, datetime] | None = None,
                    case_no: str = "",
                    lifecycle: Lifecycle) -> TransitionPlan:
    """Check one step against the table and say what to write, or raise ``TransitionRefused``.

    ``status``: the case's status as stored now. ``expected_status``: the status the person saw
    when they pressed the button (a stale button is refused). ``paused``: the case is waiting
    for the citizen. ``now`` and ``deadlines`` (kind -> due instant of the running deadlines)
    are needed for rows with a ``within`` or ``after`` window. ``fields``: the row's inputs;
    ``department`` and ``leader`` are display names (they go into the citizen's message).
    """
    table = lifecycle
    status, action, role = CaseStatus(status), Action(action), Role(role)
    fields = dict(fields or {})

    if expected_status is not None and CaseStatus(expected_status) != status:
        raise table.refused("status_changed", status=table.status_label(status))
    if action == Action.ADD_INFO and paused and table.row(status, Action.INFO_RECEIVED):
        action = Action.INFO_RECEIVED   # the citizen's answer to our question
    row = table.row(status, action)
    if row is None:
        raise table.refused("not_now", status=table.status_label(status),
                            action=table.action_label(action))
    if role not in row.roles:
        who = "、".join(table.role_label(r) for r in Role if r in row.roles)
        raise table.refused("wrong_role", action=table.action_label(action), roles=who)
    if row.pauses and paused:
        raise table.refused("already_paused")
    if row.resumes and not paused:
        raise table.refused("not_paused")
    _check_window(row, table, now, deadlines or {})

    fields = _check_fields_given(row, fields, table)
    extension_days = int(fields["days"]) if row.extends else 0
    values = {key: table.field_words(key, value) for key, value in fields.items()}
    values |= {"case_no": case_no, "status": table.status_label(row.to)}
    values |= {f"limit_{k}": str(limit.days) for k, limit in table.rules.limits.items()}
    outcome = table.outcomes[fields["outcome"]] if "outcome" in row.requires else None
    values["outcome_detail"] = outcome.notify.format_map(values) if outcome else ""
    message = row.notify.format_map(values) if row.notify is not None else None
    offer_review = "rating" in row.requires and table.ratings[fields["rating"]].offers_review
    if offer_review and message is not None and table.review_offer:
        message += table.review_offer.format_map(values)

    shown = row.requires + (outcome.requires if outcome else ())
    note = "；".join([table.action_label(action)] + [f"{table.field_labels[key]}：{values[key]}"
                                       for key in shown])
    return TransitionPlan(
        before=status, status=row.to, action=action, role=role, note=note, fields=fields,
        starts=row.starts, stops=row.stops, pauses=row.pauses, resumes=row.resumes,
        extends=row.extends, extension_days=extension_days, citizen_message=message,
        offer_review=offer_review,
        ends_pause=paused and (bool(row.resumes) or row.to != status))


def _check_window(row: Transition, table: Lifecycle, now: datetime | None,
                  deadlines: Mapping[str, datetime]) -> None:
    action = table.action_label(row.action)
    for kind, must_be_open in ((row.within, True), (row.after, False)):
        if kind is None:
            continue
        if now is None:
            raise ValueError(f"'{row.action}' from '{row.status}' needs now= to check {kind}")
        due = deadlines.get(kind)
        if due is None:
            continue    # that window is not running for this case
        limit = table.rules.limit(kind)
        if must_be_open and now >= due:
            raise table.refused("window_passed", limit=limit.label, days=limit.days,
                                unit=table.day_units.get(limit.basis, ""), action=action)
        if not must_be_open and now < due:
            raise table.refused("window_open", limit=limit.label, action=action)


def _check_fields_given(row: Transition, fields: dict[str, Any], table: Lifecycle) -> dict:
    def missing(name: str) -> TransitionRefused:
        return table.refused("field_missing", action=table.action_label(row.action),
                             field=table.field_labels[name])

    for name in row.requires:
        value = fields.get(name)
        if isinstance(value, str):
            value = fields[name] = value.strip()
        if value is None or value == "":
            raise missing(name)
    if "days" in row.requires:
        cap = table.rules.limit("extension").days
        try:
            days = int(fields["days"])
        except (TypeError, ValueError):
            raise table.refused("days_not_number") from None
        if not 1 <= days <= cap:
            raise table.refused("days_out_of_range", cap=cap, days=days)
        fields["days"] = days
    if "outcome" in row.requires:
        outcome = table.outcomes.get(fields["outcome"])
        if outcome is None:
            raise table.refused("unknown_outcome",
                                choices="、".join(c.label for c in table.outcomes.values()))
        for name in outcome.requires:
            if not str(fields.get(name) or "").strip():
                raise missing(name)
    if "rating" in row.requires and fields["rating"] not in table.ratings:
        raise table.refused("unknown_rating",
                            choices="、".join(c.label for c in table.ratings.values()))
    if ("reception_outcome" in row.requires
            and fields["reception_outcome"] not in table.reception_outcomes):
        raise table.refused("unknown_reception_outcome", choices="、".join(
            c.label for c in table.reception_outcomes.values()))
    return fields

