"""The bench data's known accounts: ``bench/generate.py`` creates them at every scale,
the page benchmarks (``bench/pages.py``) sign in with them. Bench databases only: these
secrets are public by design and must never reach a real installation."""

from __future__ import annotations

from stdnum import luhn

SEED = 20261201

# Every bench member of staff has this password and this TOTP secret (base32). A TOTP
# code is accepted once per user (replay guard), so concurrent clients sign in as
# different users: counsellor i, agent i of creditor 0 (the largest), client i.
PASSWORD = "bench-lösenord-2026"  # noqa: S105 - bench data only
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - bench data only
SIGN_IN_USERS = 50  # at every scale: counsellors 0..49, agents 0..49, clients 0..49


def counsellor_email(i: int) -> str:
    """Counsellor i (of all), working in municipality ``i % municipalities``."""
    return f"radgivare-{i}@bench.example.se"


def municipality_admin_email(municipality: int) -> str:
    return f"admin@kommun-{municipality}.bench.example.se"


def agent_email(i: int) -> str:
    """Agent i of creditor 0 (the largest creditor)."""
    return f"agent-{i}@borgenar-0.bench.example.se"


def creditor_admin_email(creditor: int) -> str:
    return f"admin@borgenar-{creditor}.bench.example.se"


# The API key of creditor 0: "sk_live_" + 43 url-safe characters (as create_key makes).
API_KEY = "sk_live_benchBENCHbenchBENCHbenchBENCHbenchBENCHben"  # noqa: S105 - bench data only


def client_personnummer(i: int) -> str:
    """Client i (i < SIGN_IN_USERS): a person with an active case of counsellor i, a
    signed fullmakt valid today and answered inquiries (among them one to creditor 0).
    Signs in to the client portal with BankID (the simulator). Born 1970 with birth
    numbers 900-999: the generator gives nobody else such a number."""
    body = f"1970{1 + i % 12:02d}{1 + i % 28:02d}{900 + i % 100:03d}"
    return body + luhn.calc_check_digit(body[2:])
