"""The case lifecycle table: every allowed row, a sample of refusals, and a whole case."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
import yaml

from cases.deadlines import SHANGHAI, deadline_for
from cases.lifecycle import (
    Action,
    CaseStatus,
    Role,
    TransitionPlan,
    TransitionRefused,
)
from cases.lifecycle import plan_transition as plan_with_table
from config.catalog import Catalog, load_lifecycle
from config.settings import CONFIG_DIR

TABLE = Catalog().lifecycle


def plan_transition(*args, **kw) -> TransitionPlan:
    """The table's one question, asked of the configured table."""
    return plan_with_table(*args, lifecycle=TABLE, **kw)


NOW = datetime(2026, 3, 20, 10, tzinfo=SHANGHAI)
LONG_AGO = datetime(2026, 1, 1, tzinfo=SHANGHAI)     # a window that has closed
LATER = datetime(2026, 12, 31, tzinfo=SHANGHAI)      # a window still open

GOOD_FIELDS = {
    "department": "人力资源和社会保障局", "reason": "不属本单位职责范围",
    "channel": "向劳动人事争议仲裁委员会申请仲裁", "leader": "王副市长", "days": 20,
    "question": "请提供工资条照片", "info": "已上传工资条", "outcome": "plan",
    "plan": "4月底前分两期支付", "reply_text": "已责令用人单位限期支付", "rating": "satisfied",
    "reception_outcome": "answer", "reception_note": "已当面解释政策并明确办理时限",
}


def rows():
    return sorted(TABLE.transitions.values(), key=lambda r: (r.status, r.action))


def good_call(row, role):
    window = {}
    if row.within:
        window[row.within] = LATER
    if row.after:
        window[row.after] = LONG_AGO
    fields = {k: GOOD_FIELDS[k] for k in row.requires}
    if fields.get("outcome") == "plan":
        fields["plan"] = GOOD_FIELDS["plan"]
    return plan_transition(row.status, row.action, role, expected_status=row.status,
                           fields=fields, paused=bool(row.resumes), now=NOW,
                           deadlines=window, case_no="HY20260320-0001")


# --- the vocabulary ---------------------------------------------------------------------------

def test_every_status_has_a_chinese_label():
    expected = {"registered": "已登记", "routed": "已交办", "accepted": "已受理",
                "declined": "不予受理", "in_handling": "办理中", "extended": "已延期办理",
                "replied": "已答复办结", "rated": "已评价", "review_requested": "已申请复查",
                "under_review": "复查中", "reviewed": "已出具复查意见", "second_review": "复核中",
                "closed": "已办结归档"}
    assert {s.value: TABLE.status_label(s) for s in CaseStatus} == expected


def test_every_action_and_role_has_a_label():
    assert all(re.search(r"[\u4e00-\u9fff]", TABLE.action_label(a)) for a in Action)
    assert [r.value for r in Role] == ["citizen", "intake", "handler", "leader", "system"]


def test_outcome_kinds_and_ratings():
    assert {k: c.label for k, c in TABLE.outcomes.items()} == {
        "solved": "已解决", "plan": "已制定解决方案", "explained": "已解释说明"}
    assert {k: c.label for k, c in TABLE.ratings.items()} == {
        "satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}


def test_table_size_and_every_action_used():
    assert len(TABLE.transitions) == 72    # 59 + the reception outcome from each of 13 states
    assert {a for _, a in TABLE.transitions} == set(Action)
    # closed is final: the only row from it records a reception and keeps it closed
    assert [key for key in TABLE.transitions if key[0] == CaseStatus.CLOSED] == [
        (CaseStatus.CLOSED, Action.RECEPTION)]
    assert TABLE.row(CaseStatus.CLOSED, Action.RECEPTION).to == CaseStatus.CLOSED


# --- every allowed transition -----------------------------------------------------------------

@pytest.mark.parametrize("row", rows(), ids=lambda r: f"{r.status}-{r.action}")
def test_every_row_is_allowed_for_each_of_its_roles(row):
    for role in row.roles:
        plan = good_call(row, role)
        assert isinstance(plan, TransitionPlan)
        assert (plan.before, plan.status, plan.action, plan.role) == (
            row.status, row.to, row.action, role)
        assert (plan.starts, plan.stops, plan.pauses, plan.resumes) == (
            row.starts, row.stops, row.pauses, row.resumes)
        assert plan.note.startswith(TABLE.action_label(row.action))
        if row.notify is None:
            assert plan.citizen_message is None
        else:
            assert "{" not in plan.citizen_message and "}" not in plan.citizen_message
            assert "HY20260320-0001" in plan.citizen_message


@pytest.mark.parametrize("row", rows(), ids=lambda r: f"{r.status}-{r.action}")
def test_every_row_refuses_the_other_roles(row):
    for role in set(Role) - row.roles:
        with pytest.raises(TransitionRefused, match="只能由"):
            good_call(row, role)


@pytest.mark.parametrize("row", [r for r in rows() if r.requires],
                         ids=lambda r: f"{r.status}-{r.action}")
def test_every_required_field_is_enforced(row):
    role = min(row.roles)
    for name in row.requires:
        fields = {k: GOOD_FIELDS[k] for k in row.requires if k != name}
        fields["plan"] = GOOD_FIELDS["plan"]
        with pytest.raises(TransitionRefused, match="需要填写"):
            plan_transition(row.status, row.action, role, fields=fields | {name: "  "},
                            paused=bool(row.resumes), now=NOW, deadlines={})


def test_route_from_registered():
    plan = plan_transition("registered", "route", "intake",
                           fields={"department": "住房和城乡建设局"}, case_no="A1")
    assert plan.status == CaseStatus.ROUTED
    assert plan.stops == ("routing",)
    assert plan.starts == ("acceptance_notice", "objection")
    assert plan.citizen_message == ("您的信访事项（编号A1）已交办至住房和城乡建设局，"
                                    "该单位将在15日内告知您是否受理。")
    assert plan.note == "交办；承办单位：住房和城乡建设局"
    assert plan.changes_status


def test_decline_tells_why_and_where_to_go():
    plan = plan_transition("registered", "decline", "intake",
                           fields={"reason": "已进入诉讼程序", "channel": "人民法院"}, case_no="A2")
    assert plan.status == CaseStatus.DECLINED
    assert "理由：已进入诉讼程序" in plan.citizen_message
    assert "人民法院" in plan.citizen_message


def test_objection_returns_the_case_to_intake_with_the_reason():
    due = deadline_for("objection", datetime(2026, 9, 29, tzinfo=SHANGHAI), rules=TABLE.rules).due
    plan = plan_transition("routed", "object", "handler", fields={"reason": "应由市场监管局办理"},
                           now=datetime(2026, 10, 12, 17, tzinfo=SHANGHAI),
                           deadlines={"objection": due})
    assert plan.status == CaseStatus.REGISTERED
    assert plan.starts == ("routing",)
    assert "应由市场监管局办理" in plan.note
    assert plan.citizen_message is None


def test_objection_after_5_working_days_is_refused():
    due = deadline_for("objection", datetime(2026, 9, 29, tzinfo=SHANGHAI), rules=TABLE.rules).due
    with pytest.raises(TransitionRefused, match="已超过交办异议期限（5个工作日）"):
        plan_transition("routed", "object", "handler", fields={"reason": "不属本单位"},
                        now=datetime(2026, 10, 13, 0, 1, tzinfo=SHANGHAI),
                        deadlines={"objection": due})


def test_window_rows_need_the_clock():
    with pytest.raises(ValueError, match="needs now="):
        plan_transition("routed", "object", "handler", fields={"reason": "不属本单位"})


def test_extend_is_told_to_the_citizen_with_the_reason():
    plan = plan_transition("in_handling", "extend", "handler",
                           fields={"days": "30", "reason": "需要现场核查"}, case_no="A3")
    assert plan.status == CaseStatus.EXTENDED
    assert plan.extends == "handling" and plan.extension_days == 30
    assert plan.citizen_message == ("您的信访事项（编号A3）情况较复杂，经批准办理期限延长30日。"
                                    "延期理由：需要现场核查。")


@pytest.mark.parametrize("days", [0, 31, -5, "三十"])
def test_extension_must_be_1_to_30_days(days):
    with pytest.raises(TransitionRefused, match="延长"):
        plan_transition("in_handling", "extend", "leader", fields={"days": days, "reason": "复杂"})


def test_second_extension_is_refused():
    with pytest.raises(TransitionRefused, match="「已延期办理」，不能「延长办理期限」"):
        plan_transition("extended", "extend", "handler", fields={"days": 5, "reason": "再延"})


def test_reply_with_a_plan_includes_the_steps():
    plan = plan_transition("extended", "reply", "handler", case_no="A4",
                           fields={"outcome": "plan", "reply_text": "已协调",
                                   "plan": "4月30日前支付一半，5月31日前付清"})
    assert plan.status == CaseStatus.REPLIED
    assert plan.stops == ("handling",)
    assert plan.starts == ("rating", "review_request")
    assert "办理结果：已制定解决方案" in plan.citizen_message
    assert "解决方案：4月30日前支付一半，5月31日前付清" in plan.citizen_message
    assert "30日内申请复查" in plan.citizen_message


def test_reply_with_a_plan_but_no_steps_is_refused():
    with pytest.raises(TransitionRefused, match="解决方案"):
        plan_transition("in_handling", "reply", "handler",
                        fields={"outcome": "plan", "reply_text": "已协调"})


def test_reply_with_an_unknown_outcome_is_refused():
    with pytest.raises(TransitionRefused, match="办理结果须为以下之一"):
        plan_transition("in_handling", "reply", "handler",
                        fields={"outcome": "ignored", "reply_text": "无"})


def test_explained_outcome_has_no_plan_line():
    plan = plan_transition("in_handling", "reply", "handler",
                           fields={"outcome": "explained", "reply_text": "依法不能支持"})
    assert "办理结果：已解释说明。\n答复意见：依法不能支持" in plan.citizen_message


def test_dissatisfied_rating_offers_a_review():
    plan = plan_transition("replied", "rate", "citizen", fields={"rating": "dissatisfied"},
                           case_no="A6", now=NOW, deadlines={})
    assert plan.offer_review
    assert plan.citizen_message == ("感谢您对信访事项（编号A6）的评价：不满意。"
                                    "如您对处理意见不服，可自收到答复之日起30日内申请复查。")
    calm = plan_transition("replied", "rate", "citizen", fields={"rating": "basically_satisfied"},
                           case_no="A6", now=NOW, deadlines={})
    assert not calm.offer_review
    assert calm.citizen_message == "感谢您对信访事项（编号A6）的评价：基本满意。"


def test_unknown_rating_is_refused():
    with pytest.raises(TransitionRefused, match="满意、基本满意、不满意"):
        plan_transition("replied", "rate", "citizen", fields={"rating": "meh"}, now=NOW,
                        deadlines={})


def test_a_rating_after_the_rating_window_is_refused():
    with pytest.raises(TransitionRefused, match="已超过评价期限（15日）"):
        plan_transition("replied", "rate", "citizen", fields={"rating": "satisfied"}, now=NOW,
                        deadlines={"rating": LONG_AGO})


def test_review_request_after_30_days_is_refused():
    replied = datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)
    due = deadline_for("review_request", replied, rules=TABLE.rules).due   # end of Apr 1
    args = dict(fields={"reason": "不服"}, deadlines={"review_request": due})
    plan = plan_transition("rated", "request_review", "citizen",
                           now=datetime(2026, 4, 1, 23, tzinfo=SHANGHAI), **args)
    assert plan.status == CaseStatus.REVIEW_REQUESTED
    assert plan.starts == ("review",)
    with pytest.raises(TransitionRefused, match="已超过申请复查期限（30日）"):
        plan_transition("rated", "request_review", "citizen",
                        now=datetime(2026, 4, 2, 0, 0, tzinfo=SHANGHAI), **args)


def test_no_archiving_while_the_citizen_may_still_ask_for_review():
    with pytest.raises(TransitionRefused, match="申请复查期限尚未届满"):
        plan_transition("rated", "close", "system", now=NOW, deadlines={"review_request": LATER})
    plan = plan_transition("rated", "close", "system", now=NOW,
                           deadlines={"review_request": LONG_AGO})
    assert plan.status == CaseStatus.CLOSED


# --- refusals: wrong state, stale buttons, pauses ------------------------------------------------

@pytest.mark.parametrize("status, action, role", [
    ("registered", "start_handling", "handler"),
    ("registered", "reply", "handler"),
    ("routed", "rate", "citizen"),
    ("accepted", "extend", "handler"),
    ("declined", "route", "intake"),
    ("replied", "request_second_review", "citizen"),
    ("closed", "add_info", "citizen"),
    ("closed", "send_back", "leader"),
])
def test_illegal_action_in_this_state(status, action, role):
    label = TABLE.status_label(status)
    with pytest.raises(TransitionRefused, match=f"案件当前状态为「{label}」"):
        plan_transition(status, action, role, fields=GOOD_FIELDS, now=NOW, deadlines={})


def test_wrong_role_message_names_who_may():
    with pytest.raises(TransitionRefused) as exc:
        plan_transition("routed", "accept", "citizen")
    assert str(exc.value) == "「受理」只能由信访部门工作人员、承办单位工作人员操作。"


def test_stale_button_is_refused():
    # Two staff saw the case as 已交办; one accepted it, the other now presses 不予受理.
    with pytest.raises(TransitionRefused) as exc:
        plan_transition("accepted", "decline", "handler", expected_status="routed",
                        fields={"reason": "x", "channel": "y"})
    assert str(exc.value) == "该案件状态已变化（现为「已受理」），请刷新后再操作。"


def test_stale_check_comes_before_everything_else():
    with pytest.raises(TransitionRefused, match="状态已变化"):
        plan_transition("closed", "route", "citizen", expected_status="registered")


def test_request_info_pauses_and_cannot_be_repeated():
    plan = plan_transition("in_handling", "request_info", "handler",
                           fields={"question": "请提供劳动合同"}, case_no="A5")
    assert plan.pauses == ("handling",) and plan.begins_pause
    assert "请补充：请提供劳动合同" in plan.citizen_message
    with pytest.raises(TransitionRefused, match="已在等待信访人补充材料"):
        plan_transition("in_handling", "request_info", "handler",
                        fields={"question": "再补充"}, paused=True)


def test_info_received_needs_a_pending_question():
    with pytest.raises(TransitionRefused, match="没有待补充的材料"):
        plan_transition("in_handling", "info_received", "citizen", fields={"info": "合同"})


def test_citizen_adding_info_while_paused_answers_the_question():
    plan = plan_transition("extended", "add_info", "citizen", fields={"info": "合同照片"},
                           paused=True)
    assert plan.action == Action.INFO_RECEIVED
    assert plan.resumes == ("handling",)
    assert plan.ends_pause
    plain = plan_transition("extended", "add_info", "citizen", fields={"info": "合同照片"})
    assert plain.action == Action.ADD_INFO and not plain.resumes and not plain.ends_pause


def test_changing_status_while_paused_ends_the_pause():
    plan = plan_transition("in_handling", "reply", "handler", paused=True,
                           fields={"outcome": "solved", "reply_text": "已支付"})
    assert plan.ends_pause


def test_actions_for_a_role():
    assert TABLE.actions_for(CaseStatus.ROUTED, Role.HANDLER) == [
        "decline", "object", "accept", "request_info"]
    assert TABLE.actions_for(CaseStatus.IN_HANDLING, Role.CITIZEN, paused=True) == [
        "info_received", "add_info"]
    assert TABLE.actions_for(CaseStatus.CLOSED, Role.CITIZEN) == []


# --- a whole case -----------------------------------------------------------------------------

def test_a_case_from_registration_to_second_review():
    steps = [
        ("route", "intake", {"department": "人社局"}, "routed"),
        ("accept", "handler", {}, "accepted"),
        ("start_handling", "handler", {}, "in_handling"),
        ("assign_leader", "leader", {"leader": "王副市长"}, "in_handling"),
        ("request_info", "handler", {"question": "工资条"}, "in_handling"),
        ("add_info", "citizen", {"info": "工资条照片"}, "in_handling"),
        ("extend", "leader", {"days": 15, "reason": "涉及多家单位"}, "extended"),
        ("reply", "handler", {"outcome": "solved", "reply_text": "已支付"}, "replied"),
        ("rate", "citizen", {"rating": "dissatisfied"}, "rated"),
        ("request_review", "citizen", {"reason": "金额不对"}, "review_requested"),
        ("start_review", "intake", {}, "under_review"),
        ("reply", "leader", {"outcome": "explained", "reply_text": "金额核实无误"}, "reviewed"),
        ("request_second_review", "citizen", {"reason": "仍不服"}, "second_review"),
        ("reply", "leader", {"outcome": "explained", "reply_text": "维持复查意见"}, "closed"),
    ]
    status, paused, events = CaseStatus.REGISTERED, False, []
    for action, role, fields, expected in steps:
        plan = plan_transition(status, action, role, expected_status=status, fields=fields,
                               paused=paused, now=NOW, deadlines={}, case_no="HY-9")
        paused = (paused or plan.begins_pause) and not plan.ends_pause
        events.append(plan.note)
        status = plan.status
        assert status == expected, action
    assert status == CaseStatus.CLOSED and not paused
    assert events[5] == "收到补充材料；补充内容：工资条照片"


# --- the table file is checked when loaded --------------------------------------------------------

LABELS = yaml.safe_dump({key: yaml.safe_load((CONFIG_DIR / "lifecycle.yaml").read_text())[key]
                        for key in ("statuses", "actions", "roles", "refusals", "day_units")},
                       allow_unicode=True)
BASE = LABELS + """
fields: {reason: 理由}
transitions:
  - {from: registered, action: decline, to: declined, roles: [intake], requires: [reason]}
  - {from: declined, action: close, to: closed, roles: [system]}
"""


def write(tmp_path, text):
    path = tmp_path / "lifecycle.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_table_loads(tmp_path):
    table = load_lifecycle(write(tmp_path, BASE), TABLE.rules)
    assert len(table.transitions) == 2


@pytest.mark.parametrize("extra, error", [
    ("  - {from: registered, action: decline, to: closed, roles: [intake]}\n", "a second row"),
    ("  - {from: registered, action: route, to: routed, roles: [intake], starts: [lunch]}\n",
     "unknown deadline kind"),
    ("  - {from: registered, action: route, to: routed, roles: [clerk]}\n", "clerk"),
    ("  - {from: registered, action: route, to: routed, roles: [intake], requires: [colour]}\n",
     "no label"),
    ("  - {from: registered, action: route, to: routed, roles: [intake], notify: '{secret}'}\n",
     "secret"),
    ("  - {from: registered, action: route, to: routed, roles: [intake], colour: red}\n",
     "unknown keys"),
])
def test_a_broken_table_is_refused(tmp_path, extra, error):
    with pytest.raises(ValueError, match=error):
        load_lifecycle(write(tmp_path, BASE + extra), TABLE.rules)


def test_a_state_without_a_way_out_is_refused(tmp_path):
    text = BASE + "  - {from: registered, action: route, to: routed, roles: [intake]}\n"
    with pytest.raises(ValueError, match="no way out of state routed"):
        load_lifecycle(write(tmp_path, text), TABLE.rules)


# --- a reception day's outcome ----------------------------------------------------------------

def test_a_reception_outcome_is_an_event_on_the_case_in_any_state_never_a_button():
    plan = plan_transition("closed", "reception", "leader", case_no="A7",
                           fields={"reception_outcome": "own", "reception_note": "由我包案"})
    assert (plan.before, plan.status) == (CaseStatus.CLOSED, CaseStatus.CLOSED)
    assert not (plan.starts or plan.stops or plan.pauses or plan.resumes)
    assert plan.note == "领导接访；接访结果：包案；领导意见：由我包案"
    assert "已记录接访结果：包案" in plan.citizen_message
    assert all(Action.RECEPTION not in TABLE.actions_for(s, r) for s in CaseStatus for r in Role)
    with pytest.raises(TransitionRefused, match="接访结果须为以下之一：交办、包案、当场答复"):
        plan_transition("accepted", "reception", "intake",
                        fields={"reception_outcome": "shrug", "reception_note": "…"})
