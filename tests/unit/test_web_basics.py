"""Formatting, configuration guards, the clock and the demo scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core import clock
from shared.core.config import ConfigError, Settings, load
from shared.core.lists import COUNT_CAP
from shared.web.filters import capped_count, pnr, sek
from worker.inline import is_due


def test_money_is_swedish_kronor():
    assert sek(123450) == "1\xa0234,50\xa0kr"
    assert sek(5) == "0,05\xa0kr"
    assert sek(-100000) == "−1\xa0000,00\xa0kr" or sek(-100000) == "-1\xa0000,00\xa0kr"


def test_a_tab_count_beyond_the_cap_is_the_cap_and_a_plus():
    assert COUNT_CAP == 1000
    assert capped_count(999) == "999" and capped_count(1000, "en") == "1,000"
    assert capped_count(1001) == "1\xa0000+"
    assert capped_count(1001, "en") == "1,000+"
    assert capped_count(0, "en") == "0"


def test_personnummer_is_masked_unless_asked():
    assert pnr("197805142390") == "19780514-****"
    assert pnr("197805142390", full=True) == "19780514-2390"


def test_production_refuses_demo_secrets():
    with pytest.raises(ConfigError) as err:
        load({"SKULDKOLL_ENV": "production"})
    for name in (
        "SECRET_KEY",
        "MASTER_KEYS",
        "BLIND_INDEX_KEY",
        "AUDIT_MAC_KEYS",
        "REDIS_URL",
        "SMTP_URL",
    ):
        assert name in str(err.value)
    assert "SPAR_URL (https)/SPAR_CERT" in str(err.value)  # said at startup, not a 500 later


def test_spar_needs_its_identification_when_set(tmp_path):
    with pytest.raises(ConfigError) as err:
        load({"SPAR_URL": "http://127.0.0.1:5000/spar-sim/personsok", "SPAR_CUSTOMER_NUMBER": "12"})
    assert "SPAR_CUSTOMER_NUMBER" in str(err.value) and "SPAR_ASSIGNMENT_ID" in str(err.value)
    with pytest.raises(ConfigError, match="SPAR_CERT"):
        load(
            {
                "SPAR_URL": "https://spar.example/",
                "SPAR_CUSTOMER_NUMBER": "500243",
                "SPAR_ASSIGNMENT_ID": "637",
                "SPAR_CERT": str(tmp_path / "missing.p12"),
            }
        )


def test_production_starts_with_real_settings(tmp_path):
    from shared.security.crypto import new_master_key_spec

    cert = tmp_path / "kommun.p12"
    cert.write_bytes(b"p12")
    settings = load(
        {
            "SKULDKOLL_ENV": "production",
            "SECRET_KEY": "s" * 40,
            "MASTER_KEYS": new_master_key_spec("k2026"),
            "BLIND_INDEX_KEY": "b" * 40,
            "AUDIT_MAC_KEYS": new_master_key_spec("a2026"),
            "DATABASE_URL": "postgresql+psycopg://app@db/skuldkoll",
            "REDIS_URL": "redis://redis:6379/0",
            "BANKID_URL": "https://appapi2.bankid.com/rp/v6.0/",
            "BANKID_CERT": "/etc/skuldkoll/rp.pem",
            "INSTANCE_DIR": str(tmp_path),
            "SMTP_URL": "smtp+starttls://mail.example.se:587",
            "SPAR_URL": "https://ext-ws.statenspersonadressregister.se/2021.1/",
            "SPAR_CERT": str(cert),
            "SPAR_CUSTOMER_NUMBER": "500243",
            "SPAR_ASSIGNMENT_ID": "637",
            "KEY_STORE_URL": f"file://{tmp_path}/keys",
        }
    )
    assert settings.env == "production" and settings.secure_cookies
    assert not settings.bankid_simulated
    assert settings.key_store == f"file://{tmp_path}/keys"


def test_production_needs_a_key_store_outside_the_database():
    with pytest.raises(ConfigError, match="KEY_STORE_URL"):
        load({"SKULDKOLL_ENV": "production"})
    with pytest.raises(ConfigError, match="KEY_STORE_URL must not be"):
        load({"DATABASE_URL": "postgresql://db/x", "KEY_STORE_URL": "postgresql://db/x"})


def test_demo_defaults_point_at_the_local_simulator():
    settings = Settings(port=5123)
    assert settings.bankid_base_url == "http://127.0.0.1:5123/bankid-sim/rp/v6.0/"


def test_frozen_clock_and_today_in_stockholm():
    with clock.frozen(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)):
        assert clock.today().isoformat() == "2027-01-01"  # already new year in Sweden


@pytest.mark.live_clock  # the demo clock moves the running clock
def test_demo_clock_only_moves_forward(tmp_path):
    clock.use_demo_offset_file(tmp_path / "demo_clock.json")
    try:
        before = clock.now()
        clock.advance(timedelta(days=3))
        assert clock.now() - before >= timedelta(days=3)
        with pytest.raises(ValueError):
            clock.advance(timedelta(days=-1))
        assert abs(clock.wall_now() - before) < timedelta(minutes=1)  # wall time untouched
    finally:
        clock.use_demo_offset_file(None)


def test_cron_expressions_of_the_demo_scheduler():
    at = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)
    assert is_due("* * * * *", at)
    assert is_due("30 2 * * *", at) and not is_due("31 2 * * *", at)
    assert is_due("*/15 * * * *", at) and not is_due("*/7 * * * *", at)


def test_fullmakt_markdown_is_escaped_before_it_becomes_html():
    from shared.web.filters import simple_markdown

    html = str(simple_markdown("# Fullmakt\n\nJag <b>ger</b>:\n+ <script>x</script>\n+ två", top=2))
    assert "<h2>Fullmakt</h2>" in html
    assert "<p>Jag &lt;b&gt;ger&lt;/b&gt;:</p>" in html
    assert "<li>&lt;script&gt;x&lt;/script&gt;</li><li>två</li>" in html
    assert "<script>" not in html
