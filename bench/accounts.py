"""The bench data's known accounts: ``bench/generate.py`` creates them, the page
benchmarks (``bench/pages.py``) sign in with them. Bench databases only: these secrets
are public by design and must never reach a real installation."""

from __future__ import annotations

SEED = 20261201

# Every bench member of staff: this password and this TOTP secret (base32). A TOTP code
# is accepted once per user (replay guard), so concurrent clients sign in as different
# users: counsellor i of municipality 0, agent i of creditor 0 (the largest).
PASSWORD = "bench-lösenord-2026"  # noqa: S105 - bench data only
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - bench data only
SIGN_IN_USERS = 60  # counsellors of municipality 0 and agents of creditor 0 that exist


def counsellor_email(municipality: int, i: int) -> str:
    return f"radgivare-{i}@kommun-{municipality}.bench.invalid"


def municipality_admin_email(municipality: int) -> str:
    return f"admin@kommun-{municipality}.bench.invalid"


def agent_email(creditor: int, i: int) -> str:
    return f"agent-{i}@borgenar-{creditor}.bench.invalid"


def creditor_admin_email(creditor: int) -> str:
    return f"admin@borgenar-{creditor}.bench.invalid"


# The API key of creditor 0 (the largest): "sk_live_" + 43 url-safe characters.
API_KEY = "sk_live_benchBENCHbenchBENCHbenchBENCHbenchBENCHben"  # noqa: S105 - bench data only


def client_personnummer(i: int) -> str:
    """The 12-digit personnummer of bench client i (i < SIGN_IN_USERS): a person with an
    active case of counsellor i of municipality 0, a signed fullmakt and answered
    inquiries. Signs in to the client portal with BankID (the simulator)."""
    from stdnum import luhn

    body = f"1970{1 + i % 12:02d}{1 + i % 28:02d}{900 + i % 100:03d}"
    return body + luhn.calc_check_digit(body[2:])
