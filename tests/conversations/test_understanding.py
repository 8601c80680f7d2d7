"""Understanding the first message: what the description says is shown once, confirmed or
corrected, and never asked again."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from storage.models import Case
from tests.conftest import Chat
from tests.conversations.test_intake import conversation

RICH = ("我们是在A市B区锦绣花园二期项目工地干活的农民工，从2026年3月开始一直在这里做钢筋工，干到10月，"
        "务工时间是2026年3月到10月。华建劳务公司的包工头王某拖欠我们十二个人的工资共九万六千元，"
        "希望政府督促他们尽快结清工资。我叫张建国，电话13812345678。")


async def filed(app) -> list[Case]:
    async with app.engine.sessions() as s:
        return list((await s.exec(select(Case))).all())


async def describe(chat: Chat, text: str) -> None:
    t = chat.app.engine.catalog.texts
    await chat.send("/start")
    await chat.press(t.menu_file)
    await chat.send(text)


def asked(chat: Chat, words: str) -> bool:
    return any(words in m.text for m in chat.inbox if m.chat_id == chat.chat_id)


TYPED = {"money": "1000", "count": "3", "year": "2020"}


async def finish(chat: Chat, text_answer: str = "宏达公司") -> list[str]:
    """Answer whatever is asked, by the conversation's step, until the summary: the steps
    that were asked, in order."""
    t, catalog = chat.app.engine.catalog.texts, chat.app.engine.catalog
    steps = []
    for _ in range(20):
        conv = await conversation(chat.app, chat.chat_id)
        step = conv.step
        if step == "summary":
            return steps
        steps.append(step)
        if step == "understood":
            await chat.press(t.understood_ok)
        elif step == "attachments":
            await chat.press(t.button_done)
        elif step == "since":
            await chat.press(t.button_skip)
        elif step == "name":
            await chat.send("张三")
        elif step == "phone":
            await chat.send("13700000000")
        elif step == "location":
            await chat.send("A市B区幸福路18号")
        elif step.startswith("q."):
            rules = catalog.rules_for(*conv.data["category"])
            q = next(q for q in rules.questions if q.key == step[2:])
            if q.choices:
                await chat.press(q.choices[0])
            else:
                await chat.send(TYPED.get(q.type, text_answer))
        else:
            raise AssertionError(f"unexpected step {step}")
    raise AssertionError("no summary after 20 answers")


async def test_a_rich_description_is_filed_in_five_messages(app):
    app.engine.clock = lambda: datetime(2026, 11, 28, 2, tzinfo=UTC)
    chat = Chat(app)
    t = app.engine.catalog.texts
    await describe(chat, RICH)
    before = len(chat.inbox)
    messages = 0
    await chat.press(t.category_confirm)
    messages += 1
    understood = chat.text
    for shown in ("华建劳务公司", "96000", "12", "张建国", "138****5678", "2026年3月"):
        assert shown in understood, understood
    assert "13812345678" not in understood          # masked even to the citizen's own eyes here
    await chat.press(t.understood_ok)
    messages += 1
    steps = await finish(chat)                       # a choice nobody can read, attachments
    messages += len(steps)
    await chat.press(t.button_submit)
    messages += 1
    assert messages <= 5
    [case] = await filed(app)
    assert case.answers["employer"] == "华建劳务公司" and case.answers["amount"] == "96000"
    assert case.answers["workers"] == "12" and case.name == "张建国"
    assert case.phone == "13812345678"
    # nothing the description said was asked for
    for q in app.engine.catalog.rules_for(case.level1, case.level2, case.level3).questions:
        if q.key in ("employer", "amount", "workers"):
            assert not any(q.ask in m.text for m in chat.inbox[before:])
    assert not any(t.ask_name in m.text or t.ask_phone in m.text for m in chat.inbox[before:])


async def test_a_correction_changes_exactly_that_field(app):
    chat = Chat(app)
    t = app.engine.catalog.texts
    await describe(chat, RICH)
    await chat.press(t.category_confirm)
    first = chat.text
    await chat.press(t.understood_edit)
    await chat.press("被拖欠金额")
    await chat.send("9万元")
    again = chat.text
    assert "90000" in again and "96000" not in again
    for kept in ("华建劳务公司", "张建国", "138****5678"):
        assert kept in first and kept in again
    await chat.press(t.understood_ok)
    assert "被拖欠金额" not in chat.text             # not asked again after the correction


async def test_an_answer_that_also_gives_a_phone_fills_both(app):
    chat = Chat(app)
    t = app.engine.catalog.texts
    await describe(chat, "我在工地干了三个月，老板一直拖欠我们的工资不给，我们十几个工人找了好几次都没人管。")
    await chat.press(t.category_confirm)
    assert t.understood_ok not in chat.buttons()    # nothing to read: no confirmation asked
    await chat.send("宏达建筑劳务公司，有事可以打我电话13912345678")
    steps = await finish(chat)
    assert "phone" not in steps and "13912345678" in chat.text   # in the summary, never asked


async def test_traditional_chinese_is_read_too(app):
    chat = Chat(app)
    t = app.engine.catalog.texts
    await describe(chat, "我們在工地幹活，華建勞務公司拖欠我們十二個人的工資共九萬六千元。"
                         "我叫張建國，電話13812345678。")
    await chat.press(t.category_confirm)
    assert "华建劳务公司" in chat.text and "96000" in chat.text and "张建国" in chat.text


async def test_text_added_to_a_case_later_fills_its_empty_fields(app):
    chat = Chat(app)
    t = app.engine.catalog.texts
    await describe(chat, "我在工地干了三个月，老板一直拖欠我们的工资不给，我们十几个工人找了好几次都没人管。")
    await chat.press(t.category_confirm)
    steps = await finish(chat)
    assert "q.amount" in steps
    await chat.press(t.button_submit)
    [case] = await filed(app)
    case.answers.pop("amount")
    async with app.engine.sessions() as s, s.begin():
        stored = await s.get(Case, case.id)
        stored.answers = {k: v for k, v in stored.answers.items() if k != "amount"}
        s.add(stored)
    await chat.send("/progress")
    await chat.press(t("progress_open", number=case.number))
    await chat.press(t.supplement_button)
    await chat.send("补充一下：老板一共拖欠我们九万六千元工资。")
    [case] = await filed(app)
    assert case.answers["amount"] == "96000"
    assert case.answers["employer"] == "宏达公司"     # a field with a value is never overwritten


async def test_at_the_confirmation_text_and_back_are_understood(app):
    chat = Chat(app)
    t = app.engine.catalog.texts
    await describe(chat, RICH)
    await chat.press(t.category_confirm)
    await chat.send("随便说点什么")                    # not an answer here: said so, asked again
    assert t.invalid_choice in chat.text and "华建劳务公司" in chat.text
    await chat.send("/back")                          # back to the category
    assert t.category_confirm in chat.buttons()
    await chat.press(t.category_confirm)
    assert chat.text.count("华建劳务公司") == 1 and "96000" in chat.text
    await chat.send(t.understood_ok)                  # the button's words typed work too
    assert (await conversation(app, chat.chat_id)).step != "understood"
