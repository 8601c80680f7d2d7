"""STOP-GAP (remove when ``nlp.route_category`` exists): ``bot.app.default_router`` imports
``nlp.route_category``, which nlp/ does not export yet. Installs one built on nlp.rules."""
from __future__ import annotations


def install() -> None:
    import nlp

    if hasattr(nlp, "route_category"):
        return
    from functools import cache
    from pathlib import Path

    from nlp.rules import RoutingRules, read_yaml

    @cache
    def rules(config_dir: Path) -> RoutingRules:
        return RoutingRules(read_yaml(Path(config_dir) / "routing.yaml"))

    def route_category(level1: str, level2: str = "", level3: str = "", *,
                       config_dir: Path = nlp.CONFIG_DIR) -> str:
        return rules(Path(config_dir)).route(level1, level2, level3).department

    nlp.route_category = route_category
