"""Fixtures the conversation tests share: a staffed office (its own copy of config/) on a
controllable clock. They are defined beside the staff tests that use them most."""
from tests.conversations.test_staff import clock, office, world  # noqa: F401  (fixtures)
