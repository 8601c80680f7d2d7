"""Complaint classification: normalisation, jieba with a domain dictionary, learned first-level
weights and hand-written rules (keywords, flags, routing) from ``config/``."""
from __future__ import annotations

from pathlib import Path

from .api import Category, Classification, Classifier, Flag

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR.parent / "config"
MODEL_PATH = PACKAGE_DIR / "model" / "complaints.tar.gz"

__all__ = ["Category", "Classification", "Classifier", "Flag", "load_classifier", "route_category",
           "CONFIG_DIR", "MODEL_PATH"]


def load_classifier(config_dir: Path | None = None, model_path: Path | None = None) -> Classifier:
    """Load jieba, the domain dictionary, the rules and the model. Synchronous and CPU-bound
    (≈ 1–2 s): call it once, off the event loop (``asyncio.to_thread``)."""
    from .classifier import build

    return build(Path(config_dir or CONFIG_DIR), Path(model_path or MODEL_PATH))


def route_category(level1: str, level2: str = "", level3: str = "", *, text: str = "",
                   config_dir: Path | None = None) -> str:
    """The department key for a category (e.g. after the citizen picked another one)."""
    return _routing(Path(config_dir or CONFIG_DIR)).route(level1, level2, level3, text).department


_ROUTING_CACHE: dict = {}


def _routing(config_dir: Path):
    from .rules import RoutingRules, read_yaml

    if config_dir not in _ROUTING_CACHE:
        _ROUTING_CACHE[config_dir] = RoutingRules(read_yaml(config_dir / "routing.yaml"))
    return _ROUTING_CACHE[config_dir]
