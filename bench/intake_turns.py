"""How many messages a citizen sends after the description, before and after the bot reads
fields from it, over the extraction set; and what the reading costs next to classification.

    .venv/bin/python bench/intake_turns.py [--set tests/nlp/extraction_set.yaml] [--rounds 5]

"Before" is the same engine with a reader that finds nothing (every question asked, as before
the description was read); "after" is the engine as it runs. A simulated citizen confirms the
proposed category and what was read, answers every question asked (a plausible value, the
first choice, 「完成」 for attachments) and submits. Speed: classify(text) alone against
classify(text) + extract(fields of the text's category), the two taking turns per text and
per round; the figure is the ratio of the medians of their per-round totals.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_app  # noqa: E402
from bot.chat import Incoming, Kind  # noqa: E402
from config.catalog import Catalog  # noqa: E402
from config.settings import Settings  # noqa: E402
from nlp import load_classifier  # noqa: E402
from nlp.extract import Extractor  # noqa: E402
from storage import repo  # noqa: E402

ANSWERS = {"money": "1000", "count": "3", "year": "2020", "phone": "13800000000"}


class ReadsNothing(Extractor):
    """The baseline: the engine as it was before descriptions were read."""

    def extract(self, *args, **kw) -> dict[str, str]:
        return {}


async def turns(app, chat_id: int, text: str, path: list[str]) -> int:
    """Messages the simulated citizen sends after the description, up to and with submit. When
    the bot is unsure of the category, the citizen picks the item's own from the tree."""
    engine, t = app.engine, app.engine.catalog.texts
    out = await engine.handle(Incoming.from_text(chat_id, chat_id, "/complain"))
    out = await engine.handle(Incoming.from_text(chat_id, chat_id, text))
    sent = 0
    for _ in range(40):
        buttons = [b for m in out if m.chat_id == chat_id for row in m.buttons for b in row]
        labels = {b.text: b.data for b in buttons}
        said = "\n".join(m.text for m in out if m.chat_id == chat_id)
        if t.button_submit in labels:
            await engine.handle(Incoming(chat_id, chat_id, Kind.BUTTON, data=labels[t.button_submit]))
            return sent + 1
        press = next((labels[k] for k in (t.category_confirm, t.understood_ok, t.button_done)
                      if k in labels), None)
        if press is None and t.category_more in labels:
            press = labels[t.category_more]
        if press is None and any(b.data.startswith("i:pick") for b in buttons):
            wanted = [level for level in path if level in labels]
            coarse = next((b.data for b in buttons if b.data.endswith(":coarse")), None)
            press = labels[wanted[-1]] if wanted else coarse or buttons[0].data
        if press is None and any(b.data.endswith(":c0") for b in buttons):
            press = next(b.data for b in buttons if b.data.endswith(":c0"))
        if press is not None:
            event = Incoming(chat_id, chat_id, Kind.BUTTON, data=press)
        else:
            conv = await conversation(app, chat_id)
            event = Incoming.from_text(chat_id, chat_id, answer(app, conv, said))
        out = await engine.handle(event)
        sent += 1
    raise RuntimeError(f"chat {chat_id} did not reach the summary")


async def conversation(app, chat_id: int):
    async with app.engine.sessions() as s:
        return (await repo.get_conversations(s, chat_ids=[chat_id]))[chat_id]


def answer(app, conv, said: str) -> str:
    step = conv.step
    if step == "phone":
        return ANSWERS["phone"]
    if step == "name":
        return "张三"
    if step.startswith("q."):
        category = conv.data.get("category") or ["", "", ""]
        rules = app.engine.catalog.rules_for(*category)
        q = next((q for q in rules.questions if q.key == step[2:]), None)
        if q is not None and q.type in ANSWERS:
            return ANSWERS[q.type]
    return "详见上述情况，请尽快处理"


async def count_turns(items: list[dict], classifier, reader: Extractor | None) -> list[int]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp}/turns.db",
                            staff_chat_id=-100, bot_token=None, _env_file=None)
        app = await build_app(settings, classifier_loader=lambda: classifier)
        app.engine.extractor = reader or app.engine.extractor
        try:
            result = []
            for i, item in enumerate(items):
                when = item.get("date") or date(2026, 11, 28)
                app.engine.clock = lambda when=when: datetime(when.year, when.month, when.day,
                                                              2, tzinfo=UTC)
                path = (item["category"].split("/") + ["", ""])[:3]
                result.append(await turns(app, 1000 + i, item["text"], path))
            return result
        finally:
            await app.close()


def speed(items: list[dict], classifier, rounds: int) -> tuple[float, float, float]:
    catalog = Catalog()
    reader = Extractor(catalog.vocabulary)
    specs = [catalog.rules_for(*(item["category"].split("/") + ["", ""])[:3]).fields
             for item in items]
    alone, both = [], []
    for _ in range(rounds):
        a = b = 0.0
        for item, fields in zip(items, specs, strict=True):
            start = time.perf_counter()
            classifier.classify(item["text"])
            middle = time.perf_counter()
            result = classifier.classify(item["text"])
            reader.extract("".join(result.tokens), result.tokens, fields,
                           item.get("date") or date(2026, 11, 28))
            end = time.perf_counter()
            a += middle - start
            b += end - middle
        alone.append(a)
        both.append(b)
    n = len(items)
    return (statistics.median(alone) / n * 1000, statistics.median(both) / n * 1000,
            statistics.median(both) / statistics.median(alone))


def p90(values: list[int]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else float(values[0])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=ROOT / "tests/nlp/extraction_set.yaml")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    items = yaml.safe_load(args.set.read_text(encoding="utf-8"))
    classifier = await asyncio.to_thread(load_classifier)
    before = await count_turns(items, classifier, ReadsNothing(Catalog().vocabulary))
    after = await count_turns(items, classifier, None)
    print(f"{len(items)} descriptions from {args.set.name}; messages after the description, "
          "up to and with 「提交」:")
    print(f"  before (every question asked): median {statistics.median(before):.1f}, "
          f"p90 {p90(before):.1f}, mean {statistics.mean(before):.2f}")
    print(f"  after (what was said is read): median {statistics.median(after):.1f}, "
          f"p90 {p90(after):.1f}, mean {statistics.mean(after):.2f}")
    alone, both, ratio = speed(items, classifier, args.rounds)
    print(f"speed per text: classify {alone:.3f} ms, classify + extract {both:.3f} ms, "
          f"ratio {ratio:.2f} (target ≤ 1.5)")


if __name__ == "__main__":
    asyncio.run(main())
