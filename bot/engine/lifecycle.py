"""The case lifecycle: states, actions, who may act, and what each step does to the deadlines.

The rules are data (``config/lifecycle.yaml``, one row per (from-state, action)); this module
loads and checks them and answers one question with a pure function: may this person do this
to a case in this state now, and if so what must be written? ``plan_transition`` returns a
``TransitionPlan`` (new status, event note, deadline changes, the citizen's message) or raises
``TransitionRefused`` with a message staff or citizens can read. The caller applies the plan in
one transaction: update the case only if its status is still the one planned from, write the
case event, change the deadlines, queue the citizen's message.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot.engine.deadlines import WORKING, DeadlineRules, default_rules

LIFECYCLE_FILE = Path(__file__).resolve().parents[2] / "config" / "lifecycle.yaml"


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

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    CaseStatus.REGISTERED: "已登记",
    CaseStatus.ROUTED: "已交办",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.DECLINED: "不予受理",
    CaseStatus.IN_HANDLING: "办理中",
    CaseStatus.EXTENDED: "已延期办理",
    CaseStatus.REPLIED: "已答复办结",
    CaseStatus.RATED: "已评价",
    CaseStatus.REVIEW_REQUESTED: "已申请复查",
    CaseStatus.UNDER_REVIEW: "复查中",
    CaseStatus.REVIEWED: "已出具复查意见",
    CaseStatus.SECOND_REVIEW: "复核中",
    CaseStatus.CLOSED: "已办结归档",
}


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

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS = {
    Action.ROUTE: "交办",
    Action.ACCEPT: "受理",
    Action.DECLINE: "不予受理",
    Action.OBJECT: "提出交办异议",
    Action.ASSIGN_LEADER: "领导包案",
    Action.START_HANDLING: "开始办理",
    Action.EXTEND: "延长办理期限",
    Action.REQUEST_INFO: "请信访人补充材料",
    Action.INFO_RECEIVED: "收到补充材料",
    Action.ADD_INFO: "补充信息",
    Action.REPLY: "答复办结",
    Action.SEND_BACK: "退回重办",
    Action.RATE: "评价",
    Action.REQUEST_REVIEW: "申请复查",
    Action.START_REVIEW: "受理复查",
    Action.REQUEST_SECOND_REVIEW: "申请复核",
    Action.CLOSE: "归档",
}


class Role(StrEnum):
    CITIZEN = "citizen"
    INTAKE = "intake"
    HANDLER = "handler"
    LEADER = "leader"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.CITIZEN: "信访人",
    Role.INTAKE: "信访部门工作人员",
    Role.HANDLER: "承办单位工作人员",
    Role.LEADER: "领导",
    Role.SYSTEM: "系统",
}


class TransitionRefused(Exception):
    """The step is not allowed; ``str(exc)`` is a Chinese message to show to whoever tried."""


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

    def row(self, status: CaseStatus, action: Action) -> Transition | None:
        return self.transitions.get((status, action))

    def actions_for(self, status: CaseStatus, role: Role, *, paused: bool = False) -> list[Action]:
        """What ``role`` may do now, in table order: for buttons and menus."""
        return [row.action for (s, _), row in self.transitions.items()
                if s == status and role in row.roles
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
             "extends", "within", "after", "notify"}


def load_lifecycle(path: str | Path = LIFECYCLE_FILE,
                   rules: DeadlineRules | None = None) -> Lifecycle:
    """Read and check the table; a ValueError names the first row that is wrong."""
    rules = rules or default_rules()
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    field_labels = dict(raw.get("fields") or {})
    outcomes = {k: Choice(k, v["label"], tuple(v.get("requires") or ()), v.get("notify") or "")
                for k, v in (raw.get("outcomes") or {}).items()}
    ratings = {k: Choice(k, v["label"], offers_review=bool(v.get("offers_review")))
               for k, v in (raw.get("ratings") or {}).items()}
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
                within=single["within"], after=single["after"], notify=notify, **kinds)

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
                     raw.get("review_offer") or "", rules, timeline)


def _check_fields(where: str, names: tuple[str, ...], labels: Mapping[str, str]) -> None:
    for name in names:
        if name not in labels:
            raise ValueError(f"{where}: field {name!r} has no label under 'fields'")


def _check_template(where: str, template: str, allowed: set[str]) -> None:
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None and name not in allowed:
            raise ValueError(f"{where}: message uses {{{name}}}, which is not given")


@cache
def default_lifecycle() -> Lifecycle:
    return load_lifecycle()


# --- the one question -------------------------------------------------------------------------

def plan_transition(status: CaseStatus | str, action: Action | str, role: Role | str, *,
                    expected_status: CaseStatus | str | None = None,
                    fields: Mapping[str, Any] | None = None,
                    paused: bool = False,
                    now: datetime | None = None,
                    deadlines: Mapping[str, datetime] | None = None,
                    case_no: str = "",
                    lifecycle: Lifecycle | None = None) -> TransitionPlan:
    """Check one step against the table and say what to write, or raise ``TransitionRefused``.

    ``status``: the case's status as stored now. ``expected_status``: the status the person saw
    when they pressed the button (a stale button is refused). ``paused``: the case is waiting
    for the citizen. ``now`` and ``deadlines`` (kind -> due instant of the running deadlines)
    are needed for rows with a ``within`` or ``after`` window. ``fields``: the row's inputs;
    ``department`` and ``leader`` are display names (they go into the citizen's message).
    """
    table = lifecycle or default_lifecycle()
    status, action, role = CaseStatus(status), Action(action), Role(role)
    fields = dict(fields or {})

    if expected_status is not None and CaseStatus(expected_status) != status:
        raise TransitionRefused(f"该案件状态已变化（现为「{status.label}」），请刷新后再操作。")
    if action == Action.ADD_INFO and paused and table.row(status, Action.INFO_RECEIVED):
        action = Action.INFO_RECEIVED   # the citizen's answer to our question
    row = table.row(status, action)
    if row is None:
        raise TransitionRefused(f"案件当前状态为「{status.label}」，不能「{action.label}」。")
    if role not in row.roles:
        who = "、".join(r.label for r in Role if r in row.roles)
        raise TransitionRefused(f"「{action.label}」只能由{who}操作。")
    if row.pauses and paused:
        raise TransitionRefused("该案件已在等待信访人补充材料，请勿重复操作。")
    if row.resumes and not paused:
        raise TransitionRefused("该案件没有待补充的材料。")
    _check_window(row, table.rules, now, deadlines or {})

    fields = _check_fields_given(row, fields, table)
    extension_days = int(fields["days"]) if row.extends else 0
    values = {key: _display(key, value, table) for key, value in fields.items()}
    values |= {"case_no": case_no, "status": row.to.label}
    values |= {f"limit_{k}": str(limit.days) for k, limit in table.rules.limits.items()}
    outcome = table.outcomes[fields["outcome"]] if "outcome" in row.requires else None
    values["outcome_detail"] = outcome.notify.format_map(values) if outcome else ""
    message = row.notify.format_map(values) if row.notify is not None else None
    offer_review = "rating" in row.requires and table.ratings[fields["rating"]].offers_review
    if offer_review and message is not None and table.review_offer:
        message += table.review_offer.format_map(values)

    shown = row.requires + (outcome.requires if outcome else ())
    note = "；".join([action.label] + [f"{table.field_labels[key]}：{values[key]}"
                                       for key in shown])
    return TransitionPlan(
        before=status, status=row.to, action=action, role=role, note=note, fields=fields,
        starts=row.starts, stops=row.stops, pauses=row.pauses, resumes=row.resumes,
        extends=row.extends, extension_days=extension_days, citizen_message=message,
        offer_review=offer_review,
        ends_pause=paused and (bool(row.resumes) or row.to != status))


def _check_window(row: Transition, rules: DeadlineRules, now: datetime | None,
                  deadlines: Mapping[str, datetime]) -> None:
    for kind, must_be_open in ((row.within, True), (row.after, False)):
        if kind is None:
            continue
        if now is None:
            raise ValueError(f"'{row.action}' from '{row.status}' needs now= to check {kind}")
        due = deadlines.get(kind)
        if due is None:
            continue    # that window is not running for this case
        limit = rules.limit(kind)
        if must_be_open and now >= due:
            unit = "个工作日" if limit.basis == WORKING else "日"
            raise TransitionRefused(f"已超过{limit.label}（{limit.days}{unit}），"
                                    f"不能「{row.action.label}」。")
        if not must_be_open and now < due:
            raise TransitionRefused(f"{limit.label}尚未届满，暂不能「{row.action.label}」。")


def _check_fields_given(row: Transition, fields: dict[str, Any], table: Lifecycle) -> dict:
    def missing(name: str) -> TransitionRefused:
        return TransitionRefused(f"「{row.action.label}」需要填写{table.field_labels[name]}。")

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
            raise TransitionRefused("延长天数须为整数。") from None
        if not 1 <= days <= cap:
            raise TransitionRefused(f"延长办理期限须在1至{cap}日之间（现为{days}日）。")
        fields["days"] = days
    if "outcome" in row.requires:
        outcome = table.outcomes.get(fields["outcome"])
        if outcome is None:
            kinds = "、".join(c.label for c in table.outcomes.values())
            raise TransitionRefused(f"办理结果须为以下之一：{kinds}。")
        for name in outcome.requires:
            if not str(fields.get(name) or "").strip():
                raise missing(name)
    if "rating" in row.requires and fields["rating"] not in table.ratings:
        kinds = "、".join(c.label for c in table.ratings.values())
        raise TransitionRefused(f"评价须为以下之一：{kinds}。")
    return fields


def _display(key: str, value: Any, table: Lifecycle) -> str:
    if key == "outcome" and value in table.outcomes:
        return table.outcomes[value].label
    if key == "rating" and value in table.ratings:
        return table.ratings[value].label
    return str(value)
