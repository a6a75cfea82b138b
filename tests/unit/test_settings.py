"""Settings come from the environment, with defaults that run the demo."""

from __future__ import annotations

from realtime.settings import Settings


def test_defaults_run_one_worker_on_embedded_servers() -> None:
    settings = Settings.from_env({})
    assert (settings.redis_url, settings.database_url) == (None, None)
    assert (settings.port, settings.ws_port, settings.workers) == (8050, 8765, 1)


def test_workers_and_ports_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {"PINGAN_WORKERS": "3", "PORT": "9000", "PINGAN_METRICS_PORT": "9100"}
    )
    assert (settings.workers, settings.port, settings.metrics_port) == (3, 9000, 9100)
    assert Settings.from_env({"PINGAN_WORKERS": "0"}).workers == 1


def test_tuning_reads_ints_floats_and_bools_by_field_type() -> None:
    from realtime.gateway import GatewaySettings
    from realtime.settings import tuning_from_env

    tuned = tuning_from_env(
        GatewaySettings,
        "PINGAN_GATEWAY_",
        {
            "PINGAN_GATEWAY_PUMP_INTERVAL_SECONDS": "0.05",
            "PINGAN_GATEWAY_CLIENT_QUEUE": "10",
            "PINGAN_GATEWAY_REQUIRE_SCREEN_TOKENS": "true",
        },
    )
    assert (tuned.pump_interval_seconds, tuned.client_queue) == (0.05, 10)
    assert tuned.require_screen_tokens is True
    assert tuning_from_env(GatewaySettings, "PINGAN_GATEWAY_", {}) == GatewaySettings()
