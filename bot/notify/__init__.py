"""Outbox delivery: messages written in the engine's transaction, sent by a worker with rate
limits and retries, each marked sent with Telegram's message id."""
