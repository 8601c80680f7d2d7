"""Complaint classification: normalisation, jieba with a domain dictionary, learned first-level
weights and hand-written rules (keywords, flags, routing) from ``config/``."""
from __future__ import annotations

from pathlib import Path

from config.settings import CONFIG_DIR

from .api import Category, Classification, Classifier, Flag
from .classifier import build

PACKAGE_DIR = Path(__file__).resolve().parent
MODEL_PATH = PACKAGE_DIR / "model" / "complaints.tar.gz"

__all__ = ["Category", "Classification", "Classifier", "Flag", "load_classifier",
           "CONFIG_DIR", "MODEL_PATH"]


def load_classifier(config_dir: Path | None = None, model_path: Path | None = None) -> Classifier:
    """Load jieba, the domain dictionary, the rules and the model. Synchronous and CPU-bound
    (≈ 1–2 s): call it once, off the event loop (``asyncio.to_thread``)."""
    return build(Path(config_dir or CONFIG_DIR), Path(model_path or MODEL_PATH))

