"""The case domain: the lifecycle table, statutory deadlines, the case service (filing, steps,
ratings, who may act), the scheduler's jobs and the leaders' numbers. It knows no chat, button,
text file or framework: it gets its rules as objects (``config.catalog``) and returns what
happened; ``bot.conversations`` (and later the web workspace) tell people."""
