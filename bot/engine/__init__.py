"""The framework-free engine. Build one with ``bot.engine.build.build_engine``."""
