"""Shared test configuration: the engine list every conformance test runs on."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# "ci" (the default) draws the same examples on every run, so a red run is
# reproducible and a green one stays green; "deep" explores at random.
settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "deep",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _clear_event_listeners():
    """Event listeners are global: every test starts and ends with none."""
    from pytuck import event

    event.clear()
    yield
    event.clear()
