"""Filing a complaint through the engine, event by event, as a citizen would."""
from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.chat import Incoming, Kind
from storage import repo
from storage.models import Attachment, Case
from tests.conftest import Chat

WAGES = "我在工地干了三个月，老板一直拖欠我们的工资不给，我们十几个工人找了好几次都没人管。"
PROPERTY = "我们小区交房已经五年了，开发商一直不给办房产证，业主们多次去问都说手续不全，请帮忙解决。"


async def cases(app) -> list[Case]:
    async with app.engine.sessions() as s:
        return list((await s.exec(select(Case))).all())


async def conversation(app, chat_id: int) -> repo.ConversationState:
    async with app.engine.sessions() as s:
        return (await repo.get_conversations(s, chat_ids=[chat_id])).get(chat_id)


async def start_wages(chat: Chat) -> None:
    await chat.send("/start")
    assert "回音" in chat.text and "投诉/信访" in chat.buttons()
    await chat.press("投诉/信访")
    assert "发生了什么事" in chat.text
    await chat.send(WAGES)
    assert "工资发放" in chat.text, chat.text
    await chat.press("对，就是这类")


async def wages_answers(chat: Chat) -> None:
    assert "拖欠工资的是哪家单位" in chat.text
    await chat.send("宏达建筑劳务公司")
    await chat.send("幸福里安置房项目，A3区幸福路18号")
    await chat.send("3.5万")
    await chat.send("30多人")
    await chat.send("2025年3月至2025年8月")
    await chat.press("还没有反映")
    await chat.send("请督促公司尽快结清工资")
    assert "什么地方" in chat.text


async def test_unpaid_wages_filed_end_to_end(chat, app):
    await start_wages(chat)
    await wages_answers(chat)
    await chat.send("A市A3区幸福路18号工地")
    await chat.send("2025年9月")
    await chat.send("王小明")
    assert any(m.request_contact for m in chat.mine)
    await chat.contact("+86 138 1234 5678")
    assert any(m.remove_keyboard for m in chat.mine)
    await chat.photo("pay-slip-1")
    await chat.press("完成")
    summary = chat.text
    for expected in ("宏达建筑劳务公司", "35000", "30多", "13812345678", "王小明", "附件：1 份"):
        assert expected in summary
    await chat.press("提交")
    assert "案件编号" in chat.text and "查询码" in chat.text
    [case] = await cases(app)
    assert case.number in chat.text and case.query_code in chat.text
    assert (case.level1, case.level2, case.level3) == ("劳动和社会保障", "工资福利", "工资发放")
    # wages on a construction site go to 住建 (with 人社 told), as DOMAIN.md says
    assert case.department == "housing" and case.status == "registered"
    assert case.answers["employer"] == "宏达建筑劳务公司" and case.answers["amount"] == "35000"
    assert case.phone == "13812345678" and case.name == "王小明"
    assert (case.location, case.since) == ("A市A3区幸福路18号工地", "2025年9月")
    async with app.engine.sessions() as s:
        files = (await s.exec(select(Attachment).where(Attachment.case_id == case.id))).all()
        assert [f.file_id for f in files] == ["pay-slip-1"]
    staff = [m for m in chat.last if m.chat_id == -100]
    assert len(staff) == 1 and case.number in staff[0].text
    assert "138****5678" in staff[0].text and "13812345678" not in staff[0].text
    assert (await conversation(app, chat.chat_id)).flow == ""


async def test_property_certificate_with_skipped_questions(chat, app):
    await chat.send("/start")
    await chat.press("投诉/信访")
    await chat.send(PROPERTY)
    assert "房产证登记、办理" in chat.text
    assert "自然资源" in chat.text  # routed to the land registry
    await chat.press("对，就是这类")
    assert "哪个小区" in chat.text
    assert "跳过" not in chat.buttons()  # the estate is required
    await chat.send("阳光花园")
    for _ in range(4):  # developer, purchase year, hand-over year, blocker
        await chat.press("跳过")
    await chat.send("尽快办理不动产权证")
    await chat.send("A市A5区阳光花园小区")
    await chat.press("跳过")
    await chat.send("赵丽")
    await chat.send("0731-88886666")
    await chat.press("完成")
    assert "0731-88886666" in chat.text and "开发商：未填写" in chat.text
    await chat.press("提交")
    [case] = await cases(app)
    assert case.level3 == "房产证登记、办理" and case.department == "natural_resources"
    assert case.answers["estate"] == "阳光花园" and case.answers["developer"] is None


async def to_summary(chat: Chat) -> None:
    await start_wages(chat)
    await wages_answers(chat)
    await chat.send("A市A3区幸福路18号工地")
    await chat.press("跳过")
    await chat.send("王小明")
    await chat.send("13812345678")
    await chat.press("完成")
    assert "请核对" in chat.text


async def test_change_one_field_from_the_summary(chat, app):
    await to_summary(chat)
    await chat.press("修改")
    await chat.press("联系电话")
    assert "联系电话" in chat.text
    await chat.send("13900001111")
    assert "请核对" in chat.text and "13900001111" in chat.text
    assert "宏达建筑劳务公司" in chat.text  # the rest is untouched
    await chat.press("提交")
    [case] = await cases(app)
    assert case.phone == "13900001111"


async def test_change_category_from_summary_asks_the_new_required_questions(chat, app):
    await to_summary(chat)
    await chat.press("修改")
    await chat.press("问题类别")
    await chat.press("城乡建设")
    await chat.press("住房保障与房地产")
    await chat.press("房产证登记、办理")
    assert "哪个小区" in chat.text  # required for the new category
    await chat.send("阳光花园")
    await chat.send("尽快办证")
    assert "请核对" in chat.text and "阳光花园" in chat.text
    assert "宏达建筑劳务公司" not in chat.text  # the old category's answers are gone
    await chat.press("提交")
    [case] = await cases(app)
    assert case.level3 == "房产证登记、办理" and "employer" not in case.answers


async def test_back_returns_to_the_previous_question(chat):
    await start_wages(chat)
    await chat.send("宏达建筑劳务公司")
    assert "哪个项目" in chat.text
    await chat.press("返回")
    assert "拖欠工资的是哪家单位" in chat.text
    await chat.send("/back")
    assert "属于" in chat.text  # the category proposal again
    await chat.send("/back")
    assert "发生了什么事" in chat.text


async def test_cancel_files_nothing(chat, app):
    await start_wages(chat)
    await chat.send("宏达建筑劳务公司")
    await chat.send("/cancel")
    assert "已取消" in chat.text
    assert await cases(app) == []
    assert (await conversation(app, chat.chat_id)).flow == ""


async def test_bad_input_gets_a_polite_reply_and_the_step_stays(chat, app):
    await chat.send("/start")
    await chat.press("投诉/信访")
    await chat.send("   ")
    assert "空的" in chat.text
    await chat.send("😡😡😡🙏")
    assert "文字" in chat.text
    await chat.sticker()
    assert "贴纸" in chat.text
    await chat.photo("site-photo")
    assert "照片" in chat.text and "发生了什么事" in chat.text
    await chat.send("/help")
    assert "怎么使用回音" in chat.text and "发生了什么事" in chat.text
    huge = "工地老板拖欠工资。" * 560  # about 5,000 characters
    await chat.send(huge)
    assert "最多 2000 个字" in chat.text and f"{len(huge)} 个字" in chat.text
    conv = await conversation(app, chat.chat_id)
    assert conv.step == "description" and conv.data["overflow"] == huge  # nothing lost
    await chat.press("只保留前 2000 个字")
    assert "工资发放" in chat.text
    await chat.press("对，就是这类")
    await chat.send("<script>alert(1)</script> OR 1=1; DROP TABLE case;--")
    await chat.press("跳过")
    await chat.send("三万")  # not a number we can read
    assert "金额数字" in chat.text
    conv = await conversation(app, chat.chat_id)
    assert conv.step == "q.amount"
    assert conv.data["answers"]["employer"].startswith("<script>")
    assert conv.data["answers"]["full_text"] == huge


async def test_user_text_is_escaped_in_every_message(chat):
    await start_wages(chat)
    await chat.send("<b>坏公司</b> & <i>某某</i>")
    for _ in range(5):
        await chat.press("跳过")
    await chat.send("结清")
    await chat.send("<地址>")
    await chat.press("跳过")
    await chat.send("王<小明>")
    await chat.send("１３８１２３４５６７８")  # full-width digits
    await chat.press("完成")
    assert "&lt;b&gt;坏公司&lt;/b&gt; &amp; &lt;i&gt;某某&lt;/i&gt;" in chat.text
    assert "&lt;地址&gt;" in chat.text and "王&lt;小明&gt;" in chat.text
    assert "13812345678" in chat.text


async def test_invalid_phone_is_refused_and_asked_again(chat):
    await to_summary(chat)
    await chat.press("修改")
    await chat.press("联系电话")
    await chat.send("12345")
    assert "号码好像不对" in chat.text
    await chat.send("１３９－０００１－１１１１")
    assert "13900011111" in chat.text


async def test_forged_and_stale_buttons_change_nothing(chat, app):
    await start_wages(chat)
    await chat.data("i:summary:submit")  # a forged submit at the first question
    assert "失效" in chat.text and "拖欠工资的是哪家单位" in chat.text
    await chat.data("zz:@@@:<b>")
    assert "失效" in chat.text
    await chat.data("p:case:HY20260101-00001")  # somebody else's case
    assert "失效" in chat.text
    assert await cases(app) == []
    assert (await conversation(app, chat.chat_id)).step == "q.employer"


async def test_a_second_click_on_submit_files_one_case(chat, app):
    await to_summary(chat)
    submit = next(b.data for m in chat.mine for row in m.buttons for b in row if "提交" in b.text)
    event = Incoming(chat.chat_id, chat.chat_id, Kind.BUTTON, data=submit)
    first, second = await asyncio.gather(app.engine.handle(event), app.engine.handle(event))
    assert len(await cases(app)) == 1
    texts = "".join(m.text for m in first + second)
    assert texts.count("案件编号") == 1 and "失效" in texts


async def test_resume_after_the_engine_and_database_are_reopened(make_app, settings):
    app = await make_app(settings)
    chat = Chat(app)
    await start_wages(chat)
    await chat.send("宏达建筑劳务公司")
    await app.close()

    reopened = await make_app(settings)
    chat = Chat(reopened)
    await chat.send("/start")
    assert "还没有提交" in chat.text and "项目名称和工地" in chat.text
    await chat.send("幸福里项目")
    assert "被拖欠金额" in chat.text or "多少钱" in chat.text
    conv = await conversation(reopened, chat.chat_id)
    assert conv.data["answers"] == {"employer": "宏达建筑劳务公司", "project": "幸福里项目"}


async def test_traditional_chinese_is_understood(chat):
    await chat.send("/start")
    await chat.press("投诉/信访")
    await chat.send("老闆拖欠我們三個月工資不給，我們十幾個工人去要了好幾次都沒有結果。")
    assert "工资发放" in chat.text


async def test_text_sent_when_idle_can_become_a_complaint(chat, app):
    await chat.send(WAGES)
    assert "反映这个问题" in chat.buttons()
    await chat.press("反映这个问题")
    assert "工资发放" in chat.text


async def test_many_citizens_at_once(app):
    async def file(chat_id: int) -> None:
        chat = Chat(app, chat_id=chat_id)
        await to_summary(chat)
        await chat.press("提交")

    await asyncio.gather(*(file(1000 + i) for i in range(8)))
    filed = await cases(app)
    assert len(filed) == 8 and len({c.number for c in filed}) == 8


async def test_start_is_answered_while_the_classifier_warms_up(settings, classifier):
    import threading

    from bot.app import build_app

    released = threading.Event()

    def slow_load():
        released.wait(timeout=30)
        return classifier

    app = await build_app(settings, classifier_loader=slow_load)
    try:
        chat = Chat(app)
        await asyncio.wait_for(chat.send("/start"), timeout=5)
        assert "回音" in chat.text
        await chat.press("投诉/信访")
        pending = asyncio.create_task(chat.send(WAGES))
        await asyncio.sleep(0.05)
        assert not pending.done()  # waits for the classifier, without blocking others
        other = Chat(app, chat_id=777)
        await asyncio.wait_for(other.send("/start"), timeout=5)
        assert "回音" in other.text
        released.set()
        await asyncio.wait_for(pending, timeout=10)
        assert "工资发放" in chat.text
    finally:
        released.set()
        await app.close()
