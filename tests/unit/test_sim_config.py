"""The simulator's command line: rate 0 is honoured, defaults come from the environment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from realtime.sim_scenarios import Scenario
from realtime.simulator import SimConfig, config_from_args, parse_args


def test_rate_zero_is_zero_not_the_default() -> None:
    """`--rate 0` means no reports (it used to fall back to the default rate)."""
    config = config_from_args(parse_args(["--rate", "0"]), {"PINGAN_SIM_RATE": "5"})
    assert config.rate == 0.0
    assert config_from_args(parse_args([]), {"PINGAN_SIM_RATE": "5"}).rate == 5.0


def test_options_reach_the_config() -> None:
    """Seed, speed, scenario, duration, start and the terminals' gateway."""
    argv = ["--seed", "9", "--speed", "60", "--scenario", "polder-flood", "--duration", "600"]
    argv += ["--start", "2026-11-23T08:00:00+08:00", "--flat", "--cameras", "100"]
    config = config_from_args(parse_args(argv), {"PINGAN_WS_PORT": "9999"})
    assert (config.seed, config.speed, config.scenario) == (9, 60.0, Scenario.POLDER_FLOOD)
    assert config.duration_seconds == 600 and not config.rhythm and config.cameras == 100
    assert config.sim_start is not None and config.sim_start.utcoffset() == timedelta(hours=8)
    assert config.gateway_url == "ws://127.0.0.1:9999/live"
    assert config_from_args(parse_args(["--no-terminals"]), {}).gateway_url is None


@pytest.mark.parametrize(
    ("options", "message"),
    [({"speed": 61.0}, "speed"), ({"speed": 0.5}, "speed"), ({"rate": -1.0}, "rate")],
)
def test_bad_options_are_refused_with_a_reason(options: dict[str, float], message: str) -> None:
    """Out-of-range speed or a negative rate: a clear error before anything runs."""
    with pytest.raises(ValueError, match=message):
        SimConfig(**options)
