"""Staff actions in the staff chats, wired to the lifecycle table, as staff and citizens use them.

Chats and people (set in a copy of config/ for each test):
  -100 default staff chat, -200 人社局's chat, -400 住建局's chat, -300 leaders' chat;
  7001 intake staff (HUIYIN_STAFF_USER_IDS), 7101 人社局 handler, 7201 住建局 handler,
  7301 a leader (config/leaders.yaml), 9999 nobody.
"""
from __future__ import annotations

import asyncio
import dataclasses
import shutil
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import yaml
from sqlmodel import select

from bot.app import build_app
from bot.chat import Incoming, Kind, Outgoing
from cases.deadlines import deadline_for
from config.catalog import Catalog
from config.settings import CONFIG_DIR, Settings
from nlp.api import Flag
from storage import cases as case_store
from storage import repo
from storage.models import Attachment, Case, CaseDeadline, CaseEvent, utcnow
from tests.conftest import Chat
from tests.conversations.test_intake import start_wages, wages_answers

STAFF_CHAT, HRSS_CHAT, HOUSING_CHAT, LEADERS_CHAT = -100, -200, -400, -300
RULES = Catalog().deadlines
INTAKE, HRSS, HOUSING, LEADER, NOBODY = 7001, 7101, 7201, 7301, 9999


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


@dataclass
class World:
    """Every message the engine sent, with Telegram-like message ids, edits applied."""

    app: object
    messages: dict[int, Outgoing] = field(default_factory=dict)
    last: list[Outgoing] = field(default_factory=list)
    next_id: int = 1

    def install(self) -> None:
        handle = self.app.engine.handle

        async def recorded(event: Incoming, **kw) -> list[Outgoing]:
            out = await handle(event, **kw)
            for msg in out:
                if msg.edit_message_id is not None and msg.edit_message_id in self.messages:
                    self.messages[msg.edit_message_id] = msg
                else:
                    self.messages[self.next_id] = msg
                    self.next_id += 1
            self.last = out
            return out

        self.app.engine.handle = recorded

    def in_chat(self, chat_id: int) -> list[tuple[int, Outgoing]]:
        return [(i, m) for i, m in self.messages.items() if m.chat_id == chat_id]


@dataclass
class Staff:
    """One person in a group chat."""

    world: World
    chat_id: int
    user_id: int
    name: str = "张科员"

    async def event(self, **kw) -> list[Outgoing]:
        kw.setdefault("chat_type", "group")
        kw.setdefault("user_name", self.name)
        return await self.world.app.engine.handle(Incoming(self.chat_id, self.user_id, **kw))

    async def send(self, text: str) -> list[Outgoing]:
        return await self.world.app.engine.handle(Incoming.from_text(
            self.chat_id, self.user_id, text, chat_type="group", user_name=self.name))

    async def press(self, label: str, number: str = "") -> list[Outgoing]:
        """Press the button ``label`` (exactly, else the first that contains it) on the newest
        message in this chat that has it."""
        for exact in (True, False):
            for message_id, msg in reversed(self.world.in_chat(self.chat_id)):
                if number and number not in msg.text:
                    continue
                for b in (b for row in msg.buttons for b in row):
                    if label == b.text or (not exact and label in b.text):
                        return await self.event(kind=Kind.BUTTON, data=b.data,
                                                message_id=message_id)
        raise AssertionError(f"no button {label!r} in chat {self.chat_id}")

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.world.last if m.chat_id == self.chat_id)


def buttons(msg: Outgoing) -> list[str]:
    return [b.text for row in msg.buttons for b in row]


def config_dir(tmp_path):
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    deps = yaml.safe_load((target / "departments.yaml").read_text(encoding="utf-8"))
    deps["hrss"].update(chat_id=HRSS_CHAT, staff=[HRSS])
    deps["housing"].update(chat_id=HOUSING_CHAT, staff=[HOUSING])
    (target / "departments.yaml").write_text(yaml.safe_dump(deps, allow_unicode=True),
                                             encoding="utf-8")
    (target / "leaders.yaml").write_text(
        yaml.safe_dump({"leaders": [{"user_id": LEADER, "name": "王局长"}]}, allow_unicode=True),
        encoding="utf-8")
    # wages cases stay with 人社局 alone, even on a construction site (see OneDepartment)
    routing = yaml.safe_load((target / "routing.yaml").read_text(encoding="utf-8"))
    routing["rules"] = [r for r in routing["rules"]
                        if not (r.get("level3") == "工资发放" and r["department"] != "hrss")]
    (target / "routing.yaml").write_text(yaml.safe_dump(routing, allow_unicode=True),
                                         encoding="utf-8")
    return target


class Flagging:
    """The real classifier, with a flag added to every result."""

    def __init__(self, inner, flag: str):
        self.inner, self.flag = inner, flag

    def classify(self, text: str, title: str = ""):
        result = self.inner.classify(text, title)
        return dataclasses.replace(result, flags=[*result.flags, self.flag])


class OneDepartment:
    """The real classifier's categories with no flags of its own, and (with the routing of
    ``config_dir``) wages cases kept with 人社局 alone: these tests are about staff work on one
    department's case (routing wages on a construction site to 住建局, and flagging collective
    cases, are tested with the real config; ``Flagging`` adds a flag on purpose)."""

    def __init__(self, inner):
        self.inner = inner

    def classify(self, text: str, title: str = ""):
        result = dataclasses.replace(self.inner.classify(text, title), flags=[])
        if result.category.level3 == "工资发放":
            return dataclasses.replace(result, department="hrss", also_departments=[])
        return result


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def office(tmp_path, sqlite_url, classifier, clock):
    """Build the app for a test; ``flag`` makes every new case carry that flag."""
    apps = []

    async def make(flag: str | None = None):
        settings = Settings(database_url=sqlite_url, staff_chat_id=STAFF_CHAT,
                            leaders_chat_id=LEADERS_CHAT, staff_user_ids=[INTAKE],
                            config_dir=config_dir(tmp_path), _env_file=None)
        plain = OneDepartment(classifier)
        loaded = Flagging(plain, flag) if flag else plain
        app = await build_app(settings, classifier_loader=lambda: loaded)
        apps.append(app)
        app.engine.clock = clock
        world = World(app)
        world.install()
        return app, world

    yield make
    for app in apps:
        await app.close()


@pytest.fixture
async def world(office):
    return (await office())[1]


def people(world: World):
    return (Staff(world, HRSS_CHAT, INTAKE, "李登记"), Staff(world, HRSS_CHAT, HRSS, "赵承办"),
            Chat(world.app))


async def file_wages(chat: Chat) -> Case:
    await start_wages(chat)
    await wages_answers(chat)
    await chat.send("A市A3区幸福路18号工地")
    await chat.send("2025年9月")
    await chat.send("王小明")
    await chat.contact("13812345678")
    await chat.press("完成")
    await chat.press("提交")
    [case] = await all_cases(chat.app)
    return case


async def all_cases(app) -> list[Case]:
    async with app.engine.sessions() as s:
        return list((await s.exec(select(Case).order_by(Case.id))).all())


async def reload(app, case: Case) -> Case:
    async with app.engine.sessions() as s:
        return await s.get(Case, case.id)


async def events(app, case: Case) -> list[CaseEvent]:
    async with app.engine.sessions() as s:
        return await repo.events_of_case(s, case_id=case.id)


async def deadlines(app, case: Case) -> dict[str, CaseDeadline]:
    """Each kind's newest row."""
    async with app.engine.sessions() as s:
        return {d.kind: d for d in await case_store.deadlines_of_case(s, case_id=case.id)}


def citizen_text(world: World, chat: Chat) -> str:
    return "\n".join(m.text for m in world.last if m.chat_id == chat.chat_id)


async def routed(world: World, intake: Staff, chat: Chat) -> Case:
    """A filed wages case, routed by intake staff to 人社局 as proposed."""
    case = await file_wages(chat)
    await intake.press("交办", case.number)
    await intake.press("人力资源和社会保障局")
    return await reload(world.app, case)


async def accepted(world: World, intake: Staff, handler: Staff, chat: Chat) -> Case:
    case = await routed(world, intake, chat)
    await handler.press("受理", case.number)
    return await reload(world.app, case)


# ---------------------------------------------------------------- the alert

async def test_new_case_goes_to_its_department_chat_with_masked_phone_and_first_actions(world):
    _, _, chat = people(world)
    case = await file_wages(chat)
    [(_, alert)] = world.in_chat(HRSS_CHAT)
    assert case.number in alert.text and "工资发放" in alert.text
    assert "138****5678" in alert.text and "13812345678" not in alert.text
    assert buttons(alert) == ["交办", "不予受理", "受理", "请信访人补充材料", "💬 与信访人对话"]
    assert all(len(b.data.encode()) <= 64 for row in alert.buttons for b in row)
    assert not world.in_chat(STAFF_CHAT) and not world.in_chat(LEADERS_CHAT)
    routing = (await deadlines(world.app, case))["routing"]
    assert routing.stopped_at is None
    assert routing.due_at == deadline_for("routing", case.created_at, rules=RULES).due


async def test_flagged_cases_also_go_to_the_leaders_chat(office):
    app, world = await office(flag=Flag.COLLECTIVE)
    case = await file_wages(Chat(app))
    [(_, alert)] = world.in_chat(LEADERS_CHAT)
    assert case.number in alert.text and "集体诉求" in alert.text
    assert alert.audience == "leaders"
    # leaders get only what a leader may do; a registered case has none of that yet
    assert buttons(alert) == []
    assert world.in_chat(HRSS_CHAT)


async def test_unflagged_cases_do_not_go_to_the_leaders_chat(office):
    app, world = await office(flag=Flag.UTILITY)
    await file_wages(Chat(app))
    assert not world.in_chat(LEADERS_CHAT)


# ---------------------------------------------------------------- who may act

async def test_an_outsider_pressing_a_staff_button_is_refused_and_nothing_changes(world):
    _, _, chat = people(world)
    case = await file_wages(chat)
    outsider = Staff(world, HRSS_CHAT, NOBODY, "路人")
    await outsider.press("不予受理", case.number)
    assert "您没有权限处理该案件" in outsider.text
    assert [m.chat_id for m in world.last] == [HRSS_CHAT]      # a refusal, nothing else
    after = await reload(world.app, case)
    assert (after.status, after.version) == ("registered", 0)
    assert [e.action for e in await events(world.app, case)] == ["registered"]


async def test_forged_callback_data_is_refused(world):
    intake, _, chat = people(world)
    case = await file_wages(chat)
    outsider = Staff(world, HRSS_CHAT, NOBODY)
    await outsider.event(kind=Kind.BUTTON, data=f"s:route:{case.id}:0")
    assert "没有权限" in outsider.text
    other_department = Staff(world, HRSS_CHAT, HOUSING)   # 住建局's handler, not this case's
    await other_department.event(kind=Kind.BUTTON, data=f"s:decline:{case.id}:0")
    assert "没有权限" in other_department.text
    for forged in ("s:route", "s:route:x:0", f"s:fly:{case.id}:0", f"s:route:{case.id}:0:9",
                   "s:route:999999:0", f"s:v:{case.id}:0:hrss"):
        await intake.event(kind=Kind.BUTTON, data=forged)
        assert "无效或已失效" in intake.text, forged
    after = await reload(world.app, case)
    assert (after.status, after.version) == ("registered", 0)


async def test_a_citizen_cannot_use_staff_buttons_or_commands(world):
    _, _, chat = people(world)
    case = await file_wages(chat)
    await chat.data(f"s:route:{case.id}:0")
    assert "没有权限" in chat.text
    await chat.send(f"/accept {case.number}")
    assert "没有这个命令" in chat.text
    stranger = Staff(world, HRSS_CHAT, chat.chat_id, "王小明")   # the citizen, in the group
    await stranger.send(f"/accept {case.number}")
    assert "没有权限" in stranger.text
    assert (await reload(world.app, case)).version == 0


async def test_in_groups_the_bot_ignores_everything_but_staff_buttons_and_commands(world):
    intake, _, _ = people(world)
    for text in ("大家好", "/start", "/progress"):
        assert await intake.send(text) == []
    assert await Staff(world, HRSS_CHAT, NOBODY).send("我要投诉拖欠工资的问题") == []


# ---------------------------------------------------------------- route, accept, decline

async def test_route_then_accept_tells_the_citizen_writes_events_and_runs_the_limits(world, clock):
    intake, handler, chat = people(world)
    case = await file_wages(chat)
    await intake.press("交办", case.number)
    assert "选择承办单位" in intake.text
    assert buttons(world.last[-1])[0] == "人力资源和社会保障局（劳动保障监察）（建议）"
    await intake.press("人力资源和社会保障局")
    assert "已交办至人力资源和社会保障局" in citizen_text(world, chat)
    card = next(m for m in world.last if m.chat_id == HRSS_CHAT and m.edit_message_id)
    assert buttons(card)[:4] == ["交办", "不予受理", "提出交办异议", "受理"]
    await handler.press("受理", case.number)
    told = [m for m in world.last if m.chat_id == chat.chat_id]
    assert len(told) == 1 and told[0].audience == "citizen" and "已受理" in told[0].text
    assert "60日内办结" in told[0].text
    assert "已「受理」" in handler.text
    after = await reload(world.app, case)
    assert (after.status, after.version) == ("accepted", 2)
    log = await events(world.app, case)
    assert [(e.action, e.role, e.from_status, e.to_status) for e in log] == [
        ("registered", None, None, "registered"),
        ("route", "intake", "registered", "routed"),
        ("accept", "handler", "routed", "accepted")]
    assert log[1].actor == f"staff:{INTAKE}" and log[2].actor == f"staff:{HRSS}"
    assert log[2].at == clock.now
    limits = await deadlines(world.app, case)
    assert limits["routing"].stopped_at == clock.now
    assert limits["acceptance_notice"].stopped_at == clock.now
    assert limits["handling"].stopped_at is None
    assert limits["handling"].due_at == deadline_for("handling", clock.now, rules=RULES).due


async def test_the_pressed_message_gets_the_new_buttons_so_old_ones_cannot_act_twice(world):
    intake, handler, chat = people(world)
    case = await routed(world, intake, chat)
    await handler.press("受理", case.number)
    edited = [m for m in world.last if m.edit_message_id]
    assert len(edited) == 1 and edited[0].chat_id == HRSS_CHAT
    assert "受理" not in buttons(edited[0]) and "开始办理" in buttons(edited[0])
    assert "已受理" in edited[0].text


async def test_decline_asks_for_reason_and_channel_and_tells_the_citizen_both(world):
    intake, _, chat = people(world)
    case = await file_wages(chat)
    await intake.press("不予受理", case.number)
    assert "理由" in intake.text and "取消" in [b for m in world.last for b in buttons(m)]
    other = Staff(world, HRSS_CHAT, HRSS)
    assert await other.send("这句话不是答复") == []          # only the one asked answers
    await intake.send("该事项已进入劳动仲裁程序 <a>")
    assert "建议途径" in intake.text
    assert (await reload(world.app, case)).status == "registered"
    await intake.send("请向A市劳动人事争议仲裁委员会了解进展")
    told = citizen_text(world, chat)
    assert "不予受理" in told and "该事项已进入劳动仲裁程序 &lt;a&gt;" in told
    assert "A市劳动人事争议仲裁委员会" in told
    after = await reload(world.app, case)
    assert after.status == "declined"
    [*_, event] = await events(world.app, case)
    assert event.fields == {"reason": "该事项已进入劳动仲裁程序 <a>",
                            "channel": "请向A市劳动人事争议仲裁委员会了解进展"}


async def test_a_command_does_what_the_button_does_and_fills_inputs_from_its_text(world):
    intake, _, chat = people(world)
    case = await file_wages(chat)
    await intake.send(f"/decline {case.number.lower()} 不属于信访事项|向人民法院起诉")
    assert "不予受理" in citizen_text(world, chat) and "向人民法院起诉" in citizen_text(world, chat)
    assert (await reload(world.app, case)).status == "declined"
    await intake.send(f"/case {case.number}")
    assert "不予受理" in intake.text and "归档" in [b for m in world.last for b in buttons(m)]
    await intake.send("/help")
    assert "/extend" in intake.text
    await intake.send("/case HY19990101-00001")
    assert "没有找到" in intake.text


async def test_cancel_drops_the_pending_input_and_changes_nothing(world):
    intake, _, chat = people(world)
    case = await file_wages(chat)
    await intake.press("不予受理", case.number)
    await intake.press("取消")
    assert "已取消" in intake.text
    assert await intake.send("这句不再被当作理由") == []
    assert (await reload(world.app, case)).version == 0


async def test_re_route_moves_the_case_and_alerts_the_new_department(world):
    intake, _, chat = people(world)
    case = await routed(world, intake, chat)
    await intake.press("交办", case.number)
    assert "人力资源和社会保障局" not in buttons(world.last[-1])   # not where it is now
    await intake.press("住房和城乡建设局")
    assert "理由" in intake.text
    await intake.send("欠薪发生在政府投资的工程项目，由住建部门牵头")
    after = await reload(world.app, case)
    assert (after.department, after.status) == ("housing", "routed")
    assert "已改为交办至住房和城乡建设局" in citizen_text(world, chat)
    [(_, card)] = world.in_chat(HOUSING_CHAT)
    assert case.number in card.text and "受理" in buttons(card)
    # the old department's handler no longer has a say; the new one does
    await Staff(world, HRSS_CHAT, HRSS).event(kind=Kind.BUTTON,
                                             data=f"s:accept:{case.id}:{after.version}")
    assert "没有权限" in world.last[0].text
    await Staff(world, HOUSING_CHAT, HOUSING).press("受理", case.number)
    assert (await reload(world.app, case)).status == "accepted"


async def test_a_department_objects_to_a_wrong_routing(world):
    intake, handler, chat = people(world)
    case = await routed(world, intake, chat)
    await handler.send(f"/object {case.number} 该工程属住建部门监管")
    after = await reload(world.app, case)
    assert after.status == "registered"
    assert "routing" in {d.kind for d in await running(world.app, after)}


async def running(app, case):
    async with app.engine.sessions() as s:
        return await case_store.running_deadlines(s, case_id=case.id)


# ---------------------------------------------------------------- races and refusals

async def test_two_staff_pressing_different_actions_one_wins_the_other_is_told(world):
    intake, handler, chat = people(world)
    case = await routed(world, intake, chat)
    [(message_id, card)] = [(i, m) for i, m in world.in_chat(HRSS_CHAT)
                            if "受理" in buttons(m) and "提出交办异议" in buttons(m)]
    accept = next(b.data for row in card.buttons for b in row if b.text == "受理")
    decline = next(b.data for row in card.buttons for b in row if b.text == "不予受理")
    first, second = await asyncio.gather(
        handler.event(kind=Kind.BUTTON, data=accept, message_id=message_id),
        intake.event(kind=Kind.BUTTON, data=decline, message_id=message_id))
    assert any("已「受理」" in m.text for m in first)
    assert any("已被他人处理" in m.text for m in second)
    # the stale press refreshes the card: the current state's buttons replace the old ones
    assert any(m.edit_message_id == message_id and "开始办理" in buttons(m) for m in second)
    after = await reload(world.app, case)
    assert (after.status, after.version) == ("accepted", 2)
    assert [e.action for e in await events(world.app, case)][-1] == "accept"


async def test_an_input_typed_after_someone_else_acted_changes_nothing(world):
    intake, handler, chat = people(world)
    case = await routed(world, intake, chat)
    await intake.press("不予受理", case.number)          # asks for the reason …
    await handler.press("受理", case.number)             # … meanwhile the department accepts
    await intake.send("不属于本市管辖")
    assert "已被他人处理" in intake.text
    assert not [m for m in world.last if m.chat_id == chat.chat_id]
    assert await intake.send("向属地信访部门反映") == []     # no longer waiting for input
    after = await reload(world.app, case)
    assert (after.status, after.version) == ("accepted", 2)


async def test_an_illegal_step_is_refused_with_the_reason(world):
    intake, handler, chat = people(world)
    case = await file_wages(chat)
    await handler.send(f"/handle {case.number}")     # not accepted yet
    assert "案件当前状态为「已登记」，不能「开始办理」" in handler.text
    await intake.send(f"/route {case.number}")
    await handler.press("人力资源和社会保障局")          # the choice was offered to intake only
    assert "无效或已失效" in handler.text
    await intake.press("人力资源和社会保障局")
    await intake.send(f"/object {case.number} 不归我们管")
    assert "「提出交办异议」只能由承办单位工作人员操作" in intake.text
    after = await reload(world.app, case)
    assert (after.status, after.version) == ("routed", 1)


async def test_extension_over_thirty_days_is_refused_then_a_valid_one_is_told(world):
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    await handler.send(f"/handle {case.number}")
    before = (await deadlines(world.app, case))["handling"].due_at
    await handler.send(f"/extend {case.number} 45|需要调取多方证据")
    assert "1至30日" in handler.text
    assert (await reload(world.app, case)).status == "in_handling"
    await handler.send(f"/extend {case.number} 二十")
    assert "请写数字" in handler.text
    await handler.send("20")
    await handler.send("涉及多个分包单位，需要逐一核实 & 调取证据")
    told = citizen_text(world, chat)
    assert "延长20日" in told and "逐一核实 &amp; 调取证据" in told
    handling = (await deadlines(world.app, case))["handling"]
    assert handling.extension_days == 20 and handling.due_at > before
    assert handling.due_at == deadline_for("handling", handling.started_at, rules=RULES,
                                           extension_days=20).due
    assert (await reload(world.app, case)).status == "extended"


async def test_reply_with_a_plan_sends_the_citizen_the_reply_text(world):
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    await handler.press("答复办结", case.number)
    assert {"已解决", "已制定解决方案", "已解释说明"} <= {b for m in world.last for b in buttons(m)}
    await handler.press("已制定解决方案")
    assert "解决方案" in handler.text
    await handler.send("12月15日前结清第一批工资，12月31日前全部结清")
    assert "答复意见" in handler.text
    await handler.send("经调查，宏达公司确有拖欠，已责令限期支付。")
    told = citizen_text(world, chat)
    assert "已制定解决方案" in told and "12月31日前全部结清" in told
    assert "经调查，宏达公司确有拖欠，已责令限期支付。" in told
    after = await reload(world.app, case)
    assert after.status == "replied"
    limits = await deadlines(world.app, case)
    assert limits["handling"].stopped_at is not None
    assert limits["review_request"].stopped_at is None


async def test_a_leader_takes_ownership_and_the_citizen_is_told(world):
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    leader = Staff(world, LEADERS_CHAT, LEADER, "王局长")
    await leader.send(f"/leader {case.number}")
    await leader.press("王局长")
    assert "已由王局长包案督办" in citizen_text(world, chat)
    assert (await reload(world.app, case)).leader_id == LEADER


async def test_send_back_after_a_reply_restarts_handling(world):
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    await handler.send(f"/reply {case.number} solved|工资已全部结清。")
    assert (await reload(world.app, case)).status == "replied"
    await intake.send(f"/sendback {case.number} 信访人反映工资并未结清")
    assert "退回承办单位重新办理" in citizen_text(world, chat)
    after = await reload(world.app, case)
    assert after.status == "in_handling"
    assert sorted(d.kind for d in await running(world.app, after)) == ["handling"]


async def test_the_traffic_light_stops_at_a_reply_and_starts_again_at_a_send_back(world, clock):
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    assert (await reload(world.app, case)).waiting_since == case.created_at
    clock.advance(days=20)
    await handler.send(f"/reply {case.number} solved|工资已全部结清。")
    assert (await reload(world.app, case)).waiting_since is None   # waits for nobody: no light
    clock.advance(days=2)
    await intake.send(f"/sendback {case.number} 信访人反映工资并未结清")
    assert (await reload(world.app, case)).waiting_since == clock.now
    await intake.send("/cases")
    assert "（0天未答复）" in intake.text, intake.text   # 22 days after filing


# ---------------------------------------------------------------- the citizen's side

async def test_request_info_pauses_the_clock_and_the_citizens_answer_resumes_it(world, clock):
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    await handler.press("请信访人补充材料", case.number)
    await handler.send("请提供劳动合同或考勤记录")
    told = [m for m in world.last if m.chat_id == chat.chat_id]
    assert "请提供劳动合同或考勤记录" in told[0].text and "暂停计算" in told[0].text
    paused = await reload(world.app, case)
    assert paused.paused_since == clock.now and paused.status == "accepted"
    assert (await deadlines(world.app, case))["handling"].paused_at == clock.now
    card = next(m for m in world.last if m.edit_message_id)
    assert "等待信访人补充材料" in card.text and "请信访人补充材料" not in buttons(card)
    await handler.send(f"/ask {case.number} 再补充一份工资条")   # no second request meanwhile
    assert "已在等待信访人补充材料" in handler.text
    clock.advance(days=3)
    chat.last = world.last = [m for m in told]
    await chat.press("补充材料")
    await chat.photo("contract-1")
    await chat.send("劳动合同已拍照上传，考勤表在班组长处。")
    assert "办理期限恢复计算" in chat.text
    staff_told = [m for m in world.last if m.chat_id == HRSS_CHAT]
    assert "劳动合同已拍照上传" in staff_told[0].text and "1 份" in staff_told[0].text
    after = await reload(world.app, case)
    assert after.paused_since is None
    handling = (await deadlines(world.app, case))["handling"]
    assert handling.paused_at is None and handling.paused_days == 3
    assert handling.due_at == deadline_for("handling", handling.started_at, rules=RULES,
                                           paused_days=3).due
    log = await events(world.app, case)
    assert [e.action for e in log][-2:] == ["request_info", "info_received"]
    assert log[-1].role == "citizen"
    async with world.app.engine.sessions() as s:
        files = (await s.exec(select(Attachment).where(Attachment.case_id == case.id))).all()
    assert [f.file_id for f in files] == ["contract-1"]


async def test_a_citizen_adds_information_to_an_open_case_and_the_handler_is_told(world):
    intake, _, chat = people(world)
    case = await routed(world, intake, chat)
    await chat.send("/progress")
    await chat.press(f"查看 {case.number}")
    await chat.press("补充材料")
    await chat.press("完成")
    assert "还没有发送任何内容" in chat.text
    await chat.send("补充：老板今天说下个月才发，工友们情绪很激动。")
    assert "已收到您补充的信息" in chat.text
    [told] = [m for m in world.last if m.chat_id == HRSS_CHAT]
    assert case.number in told.text and "情绪很激动" in told.text
    assert [e.action for e in await events(world.app, case)][-1] == "add_info"
    assert (await reload(world.app, case)).status == "routed"


async def test_a_closed_case_takes_no_more_information(world):
    intake, _, chat = people(world)
    case = await file_wages(chat)
    await intake.send(f"/decline {case.number} 不属于信访事项|向人民法院起诉")
    await intake.send(f"/close {case.number}")
    assert (await reload(world.app, case)).status == "closed"
    await chat.send("/progress")
    await chat.press(f"查看 {case.number}")
    assert "补充材料" not in chat.buttons()
    await chat.data(f"p:add:{case.number}")
    assert "已办结归档" in chat.text
