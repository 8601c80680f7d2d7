"""The chat conversations: one module per flow behind the ``Flow`` interface (``flow.py``),
dispatched by the ``Engine`` through the registry ``bot.app`` assembles. They call the case
service (``cases``) and turn what happened into messages through ``presenters``."""
