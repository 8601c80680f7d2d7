"""The nlp commands, run as the user runs them: ``python main.py nlp …`` in a subprocess."""
import csv
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Our own sentences (not from any data set).
LABELLED = [
    ("公司拖欠我们三个月工资不发", "劳动和社会保障"),
    ("老板欠薪半年，工资一直不给", "劳动和社会保障"),
    ("单位不给交社保和养老保险", "劳动和社会保障"),
    ("辞退员工不给经济补偿金", "劳动和社会保障"),
    ("工厂加班不给加班费，工资也拖欠", "劳动和社会保障"),
    ("交房三年开发商不给办房产证", "城乡建设"),
    ("小区物业费乱涨，物业服务很差", "城乡建设"),
    ("楼顶有人搭违章建筑，城管不管", "城乡建设"),
    ("拆迁补偿款一直没有到位，回迁房也没建", "城乡建设"),
    ("开发商延期交房，不动产权证办不下来", "城乡建设"),
    ("学校乱收补课费和资料费", "教育文体"),
    ("幼儿园收费太高，老师态度差", "教育文体"),
    ("孩子入学划片不合理，学位紧张", "教育文体"),
    ("培训机构倒闭学费不退", "教育文体"),
    ("学校食堂饭菜质量差，学生吃不饱", "教育文体"),
]


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "main.py", "nlp", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("nlp") / "labelled.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "text", "label"])
        for i, (text, label) in enumerate(LABELLED * 2):
            w.writerow([f"c{i}", "", text + ("" if i < len(LABELLED) else "，请尽快处理"), label])
    return path


def test_classify_writes_every_column(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("id,text,title\n1,老闆欠我們三個月工資不給,\n"
                   "2,交房五年了還辦不了房產證,房产证\n3,我们三十多名工人停水三天了,\n",
                   encoding="utf-8")
    proc = run("classify", "--input", str(src), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert list(rows[0]) == ["id", "level1", "level2", "level3", "confidence", "top3",
                             "evidence", "department", "flags"]
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["level3"] == "工资发放" and rows[0]["department"] == "hrss"
    assert rows[1]["level3"] == "房产证登记、办理"
    assert rows[0]["top3"].count("|") == 2
    assert set(rows[2]["flags"].split("|")) >= {"collective", "utility"}
    assert "已分类 3 条" in proc.stdout


def test_explain_prints_the_decision():
    proc = run("explain", "老闆欠我們三個月工資不給")
    assert proc.returncode == 0, proc.stderr
    for part in ("分类：劳动和社会保障 › 工资福利 › 工资发放", "一级候选", "依据", "承办部门", "提醒"):
        assert part in proc.stdout


def test_eval_prints_metrics(labelled_csv):
    proc = run("eval", "--data", str(labelled_csv))
    assert proc.returncode == 0, proc.stderr
    for part in ("macro-F1", "top-3", "throughput", "混淆矩阵", "劳动和社会保障"):
        assert part in proc.stdout


def test_train_then_cross_validate(labelled_csv, tmp_path):
    model = tmp_path / "model.tar.gz"
    proc = run("train", "--data", str(labelled_csv), "--out", str(model))
    assert proc.returncode == 0, proc.stderr
    assert model.exists() and model.stat().st_size < 5_000_000
    with tarfile.open(model) as tar:
        assert {"model.json", "words.txt", "weights.npy"} <= set(tar.getnames())
    proc = run("explain", "公司拖欠工资", "--model", str(model))
    assert proc.returncode == 0 and "劳动和社会保障" in proc.stdout
    proc = run("keywords", "-n", "5", "--model", str(model))
    assert proc.returncode == 0 and "劳动和社会保障：" in proc.stdout
    proc = run("eval", "--data", str(labelled_csv), "--cv", "3", "--no-calibrate")
    assert proc.returncode == 0, proc.stderr
    assert "3 折交叉验证" in proc.stdout


def test_missing_file_is_reported_in_chinese(tmp_path):
    proc = run("classify", "--input", str(tmp_path / "none.csv"), "--output",
               str(tmp_path / "o.csv"))
    assert proc.returncode == 2
    assert "错误" in proc.stderr


def test_keywords_prints_each_categorys_top_words():
    proc = run("keywords", "-n", "8")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 7 and all(len(line.split("：")[1].split("、")) == 8 for line in lines)
    assert any(line.startswith("劳动和社会保障：") for line in lines)
