"""The console front end, driven as a real subprocess through stdin and stdout."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_console(db: Path, lines: list[str], *, args=("console",)) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    env.update(HUIYIN_DATABASE_URL=f"sqlite+aiosqlite:///{db}", PYTHONIOENCODING="utf-8")
    proc = subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=env,
                          input="\n".join(lines) + "\n", capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_console_files_a_complaint_with_numbered_buttons(tmp_path):
    out = run_console(tmp_path / "c.db", [
        "1",                                   # [1] 投诉/信访
        "我在工地干了三个月，老板一直拖欠我们的工资不给，我们十几个工人找了好几次都没人管。",
        "对，就是这类",                          # a button typed by its text
        "宏达建筑劳务公司", "跳过", "35000", "12", "跳过", "2",  # 2 = 还没有反映
        "结清工资", "A市A3区幸福路18号", "跳过", "王小明",
        "/contact 13812345678", "/photo 工资条.jpg", "完成",
        "1",                                   # ✅ 提交
        "/quit",
    ])
    assert "回音" in out and "[1] 投诉/信访" in out
    assert "工资发放" in out
    assert "案件编号：HY" in out and "查询码：" in out
    staff = out[out.index("【工作人员群"):]
    assert "138****5678" in staff and "13812345678" not in staff
    assert "<b>" not in out  # HTML is turned into plain text


def test_console_resumes_after_a_restart_and_mentions_telegram(tmp_path):
    db = tmp_path / "r.db"
    first = run_console(db, ["1", "交房五年了开发商还办不了房产证，业主们多次询问都没有结果，请帮忙。", "/quit"],
                        args=())
    assert "HUIYIN_BOT_TOKEN" in first  # how to run on Telegram instead
    assert "房产证登记、办理" in first
    second = run_console(db, ["1", "/quit"])
    assert "还没有提交" in second and "房产证登记、办理" in second
    assert "哪个小区" in second  # pressing [1] confirmed the proposed category
