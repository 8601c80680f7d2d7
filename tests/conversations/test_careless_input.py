"""Careless and odd input that real citizens and staff send: forged buttons, changing one's mind
half-way, pressing old buttons, photos before the filing, guessing query codes. Whatever they do,
they get a polite answer that tells the truth, and nothing they sent is lost."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.chat import Kind
from storage import repo
from storage.models import Attachment
from tests.conftest import Chat
from tests.conversations.test_intake import WAGES, cases, conversation, to_summary, wages_answers
from tests.conversations.test_rating import replied
from tests.conversations.test_staff import INTAKE, STAFF_CHAT, Staff, file_wages, people

HUGE = "99999999999999999999"  # a number-like id no database integer can hold


@pytest.fixture
def sqlite_url(request, tmp_path) -> str:
    """The apps' database: SQLite, or each of conftest's ``db_url`` when a test asks for it."""
    if "db_url" in request.fixturenames:
        return request.getfixturevalue("db_url")
    return f"sqlite+aiosqlite:///{tmp_path / 'huiyin.db'}"


def texts(app):
    return app.engine.catalog.texts


async def answer_to(send, *args, **kw) -> str:
    """What the bot answered, or the exception it raised instead of answering."""
    try:
        out = await send(*args, **kw)
    except Exception as exc:  # noqa: BLE001 - the defect is an exception here
        return f"raised {exc!r}"
    return "\n".join(m.text for m in out)


async def change_category_from_summary(chat: Chat, *path: str) -> None:
    await chat.press("修改")
    await chat.press(texts(chat.app).field_category)
    for label in path:
        await chat.press(label)


# ---------------------------------------------------------------- 1. huge ids in forged data

async def test_forged_data_with_a_huge_case_id_gets_a_polite_reply(world, db_url):
    t = texts(world.app)
    citizen, staff = Chat(world.app), Staff(world, STAFF_CHAT, INTAKE, "李登记")
    expected, told = {}, {}
    for data in (f"r:o:{HUGE}:satisfied", f"r:a:{HUGE}:attitude:5", f"r:c:{HUGE}", f"r:v:{HUGE}",
                 f"p:case:{HUGE}", f"p:add:{HUGE}"):
        expected[data], told[data] = t.stale_button, await answer_to(citizen.data, data)
    for data in (f"s:accept:{HUGE}:0", f"s:v:{HUGE}:0:x", f"s:x:{HUGE}:0"):
        expected[data] = t.staff_bad_button
        told[data] = await answer_to(staff.event, kind=Kind.BUTTON, data=data)
    expected["/accept"], told["/accept"] = t.staff_no_case, await answer_to(
        staff.send, f"/accept {HUGE}")
    impolite = {data: reply for data, reply in told.items() if expected[data] not in reply}
    assert not impolite, "\n".join(f"{data} → {reply}" for data, reply in impolite.items())


# ---------------------------------------------------------------- 2. submit with a missing answer

async def test_submit_asks_the_new_categorys_required_question_instead_of_filing(chat, app):
    await to_summary(chat)
    property_certificate = ("城乡建设", "住房保障与房地产", "房产证登记、办理")
    await change_category_from_summary(chat, *property_certificate)
    estate = app.engine.catalog.rules_for(*property_certificate).questions[0]
    assert estate.required and estate.ask in chat.text
    await chat.press(texts(app).button_back)
    assert texts(app).summary_title in chat.text
    await chat.press("提交")
    assert await cases(app) == []
    assert estate.ask in chat.text


# ---------------------------------------------------------------- 3. /back after a category change

async def test_back_after_a_category_change_follows_the_new_categorys_steps(chat, app):
    await to_summary(chat)
    await change_category_from_summary(chat, "城乡建设", "集体土地上房屋拆迁与补偿", "不确定")
    assert texts(app).summary_title in chat.text
    conv = await conversation(app, chat.chat_id)
    rules = app.engine.catalog.rules_for(*conv.data["category"])
    own_steps = {"description", "category", "location", "since", "name", "phone", "attachments",
                 "summary", *(f"q.{q.key}" for q in rules.questions)}
    visited = []
    while conv.step != "description" and len(visited) < 20:
        await chat.send("/back")
        conv = await conversation(app, chat.chat_id)
        visited.append(conv.step)
    assert [step for step in visited if step not in own_steps] == [], visited


# ---------------------------------------------------------------- 4. /back is always answered

async def test_every_back_from_the_first_question_of_a_new_category_is_answered(chat, app):
    await to_summary(chat)
    await change_category_from_summary(chat, "城乡建设", "住房保障与房地产", "房产证登记、办理")
    assert "哪个小区" in chat.text  # the first question of the new category
    for _ in range(15):
        await chat.send("/back")
        step = (await conversation(app, chat.chat_id)).step
        assert chat.mine, f"no answer to /back (now at step {step})"
        if step == "description":
            break


# ---------------------------------------------------------------- 5. a photo before the filing

async def filed_with_an_early_photo(app, chat_id: int, *, offer_text: bool) -> tuple[bool, list]:
    """A photo sent with no filing open, then a complaint filed: (the summary counts it,
    the case's attachments)."""
    t, chat = texts(app), Chat(app, chat_id=chat_id)
    await chat.photo("early-photo")
    assert t("attachment_saved", media="照片") in chat.text
    if offer_text:
        await chat.send(WAGES)
        await chat.press(t.idle_offer_yes)
    else:
        await chat.press(t.menu_file)
        await chat.send(WAGES)
    await chat.press(t.category_confirm)
    await wages_answers(chat)
    await chat.send("A市A3区幸福路18号工地")
    await chat.press("跳过")
    await chat.send("王小明")
    await chat.send("13812345678")
    await chat.press("完成")
    shown = "附件：1 份" in chat.text
    await chat.press("提交")
    async with app.engine.sessions() as s:
        [case] = await repo.cases_of_citizen(s, chat_id=chat_id)
        files = (await s.exec(select(Attachment).where(Attachment.case_id == case.id))).all()
    return shown, [f.file_id for f in files]


async def test_a_photo_sent_before_filing_goes_with_the_next_filing(app):
    filed = {"menu button": await filed_with_an_early_photo(app, 601, offer_text=False),
             "text offered": await filed_with_an_early_photo(app, 602, offer_text=True)}
    assert filed == dict.fromkeys(filed, (True, ["early-photo"]))


# ---------------------------------------------------------------- 6. an old button mid-intake

async def test_an_old_cancel_review_button_during_a_filing_does_not_claim_it_was_cancelled(world):
    t = texts(world.app)
    _, _, chat, _ = await replied(world)
    await chat.press("不满意")
    await chat.press(t.rating_review_button)
    review_prompt = list(chat.mine)            # its 「取消」 is r:x
    await chat.send("/complain")               # a new complaint instead
    await chat.send(WAGES)
    chat.last = review_prompt
    await chat.press(t.button_cancel)
    filing_goes_on = (await conversation(world.app, chat.chat_id)).flow == "intake"
    says_cancelled = t.cancelled in chat.text
    assert says_cancelled == (not filing_goes_on), chat.text  # what is said is what is true


# ---------------------------------------------------------------- 7. query codes: a sliding hour

async def test_wrong_query_codes_lock_every_entry_point_for_sixty_minutes(world, clock):
    t = texts(world.app)
    clock.now = datetime(2026, 3, 2, 10, 59, 30, tzinfo=UTC)
    _, _, owner = people(world)
    case = await file_wages(owner)
    wrong = "000000" if case.query_code != "000000" else "111111"
    guesser = Chat(world.app, chat_id=909)
    await guesser.send(f"/progress {case.number} {wrong}")
    await guesser.send(f"/start {case.number}_{wrong}")
    await guesser.send("/progress")
    await guesser.press(t.progress_query_button)
    for _ in range(3):
        await guesser.send(f"{case.number} {wrong}")
    assert t.progress_bad_query in guesser.text

    clock.now = datetime(2026, 3, 2, 11, 0, 30, tzinfo=UTC)  # one minute later, a new clock hour
    locked = t("progress_locked", minutes=60)
    await guesser.send(f"/progress {case.number} {case.query_code}")
    assert locked in guesser.text
    await guesser.send(f"/start {case.number}_{case.query_code}")
    assert locked in guesser.text
    await guesser.send("/progress")
    await guesser.press(t.progress_query_button)
    await guesser.send(f"{case.number} {case.query_code}")
    assert locked in guesser.text

    clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # over 60 minutes after the last try
    await guesser.send(f"/progress {case.number} {case.query_code}")
    assert locked not in guesser.text and case.number in guesser.text
