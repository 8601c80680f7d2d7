"""The three-level category tree, read from ``config/taxonomy.yaml``."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .rules import read_yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


class Taxonomy:
    """level1 → level2 → [level3], in the order they are shown to citizens."""

    def __init__(self, tree: dict[str, dict[str, list[str]]]):
        self.tree = tree

    @classmethod
    def load(cls, config_dir: Path | None = None) -> "Taxonomy":
        path = (config_dir or CONFIG_DIR) / "taxonomy.yaml"
        raw = read_yaml(path)
        return cls({l1: {l2: list(l3s or []) for l2, l3s in sub.items()} for l1, sub in raw.items()})

    def level1(self) -> list[str]:
        return list(self.tree)

    def level2(self, level1: str) -> list[str]:
        return list(self.tree.get(level1, {}))

    def level3(self, level1: str, level2: str) -> list[str]:
        return list(self.tree.get(level1, {}).get(level2, []))

    def contains(self, level1: str, level2: str = "", level3: str = "") -> bool:
        if level1 not in self.tree:
            return False
        if level2 and level2 not in self.tree[level1]:
            return False
        return not level3 or level3 in self.tree[level1][level2]


@lru_cache(maxsize=4)
def load_taxonomy(config_dir: Path | None = None) -> Taxonomy:
    return Taxonomy.load(config_dir)


def level1_categories(config_dir: Path | None = None) -> list[str]:
    return load_taxonomy(config_dir).level1()


def level2_categories(level1: str, config_dir: Path | None = None) -> list[str]:
    return load_taxonomy(config_dir).level2(level1)


def level3_categories(level1: str, level2: str, config_dir: Path | None = None) -> list[str]:
    return load_taxonomy(config_dir).level3(level1, level2)
