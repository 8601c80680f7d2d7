"""Every config file is read from ``Settings.config_dir`` (``HUIYIN_CONFIG_DIR``): a changed copy
of config/ changes what a citizen sees — the greeting, a status label, a deadline and the
holiday calendar it is counted on."""
from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta

import yaml
from sqlmodel import select

from config.settings import CONFIG_DIR, Settings
from storage.models import CaseDeadline
from tests.conftest import Chat
from tests.conversations.test_staff import Clock, file_wages

SHANGHAI_OFFSET = timedelta(hours=8)          # Asia/Shanghai has no DST
T0 = datetime(2026, 3, 2, 1, tzinfo=UTC)      # Monday 2026-03-02, 09:00 in Shanghai
ROUTING_DAYS = 10                             # was 15: runs from registration
EXTRA_HOLIDAY = date(2026, 3, 12)             # a Thursday, the limit's last day
GREETING = "欢迎使用回音（测试用问候语）。"
REGISTERED = "刚刚登记"


def edit_yaml(path, change) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


def changed_config(tmp_path):
    copy = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, copy)
    edit_yaml(copy / "deadlines.yaml",
              lambda raw: raw["limits"]["routing"].update(days=ROUTING_DAYS))
    edit_yaml(copy / "holidays.yaml",
              lambda raw: raw[2026]["holidays"].append(EXTRA_HOLIDAY.isoformat()))
    edit_yaml(copy / "lifecycle.yaml",
              lambda raw: raw.setdefault("statuses", {}).update(registered=REGISTERED))
    edit_yaml(copy / "texts.yaml", lambda raw: raw.update(greeting=GREETING))
    return copy


def expected_last_day() -> date:
    """By hand: 10 calendar days after the start day (not counted), then on to the next
    working day when that is a weekend or a holiday (roll_to_working_day)."""
    day = (T0 + SHANGHAI_OFFSET).date() + timedelta(days=ROUTING_DAYS)   # Thu 2026-03-12
    while day.weekday() >= 5 or day == EXTRA_HOLIDAY:                    # the new holiday
        day += timedelta(days=1)
    return day                                                           # Fri 2026-03-13


async def test_a_changed_config_dir_changes_what_the_citizen_sees(tmp_path, monkeypatch,
                                                                   make_app):
    copy = changed_config(tmp_path)
    monkeypatch.setenv("HUIYIN_CONFIG_DIR", str(copy))
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'huiyin.db'}",
                        staff_chat_id=-100, bot_token=None, _env_file=None)
    assert settings.config_dir == copy
    app = await make_app(settings)
    clock = Clock()
    clock.now = T0
    app.engine.clock = clock
    chat = Chat(app)

    await chat.send("/start")
    assert GREETING in chat.text                                               # (d) texts.yaml

    case = await file_wages(chat)        # starts with /start, ends on 提交
    assert case.status == "registered"
    await chat.send("/progress")
    progress = chat.text
    assert f"<b>{REGISTERED}</b>" in progress, progress                       # (c) lifecycle.yaml

    last_day = expected_last_day()
    assert last_day == date(2026, 3, 13)
    async with app.engine.sessions() as s:
        [routing] = (await s.exec(select(CaseDeadline).where(
            CaseDeadline.case_id == case.id, CaseDeadline.kind == "routing"))).all()
    due = routing.due_at if routing.due_at.tzinfo else routing.due_at.replace(tzinfo=UTC)
    # due_at is the first instant past the limit: midnight (Shanghai) after its last day
    assert due == datetime.combine(last_day + timedelta(days=1), datetime.min.time(),
                                   tzinfo=UTC) - SHANGHAI_OFFSET              # (a) + (b)
    # the citizen's /progress shows the limit's last day (the new-case alert shows no limits)
    assert f"交办转送期限：{last_day.isoformat()}前" in progress, progress
