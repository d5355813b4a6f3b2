"""Money as integer öre, and kronor as people write them."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SPACES = re.compile(r"[\s\u00a0\u202f]")


def parse_kronor(text: str) -> int:
    """``"1 234,50"``, ``"1234.5"`` or ``"1234"`` (kr) -> öre. Raises ValueError with a
    Swedish message for anything else, negative amounts and more than two decimals."""
    raw = _SPACES.sub("", (text or "")).removesuffix("kr").replace(",", ".")
    if not raw:
        raise ValueError("Ange ett belopp i kronor.")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"”{text}” är inget belopp. Skriv till exempel 1 234,50.") from None
    if amount < 0:
        raise ValueError("Beloppet får inte vara negativt.")
    if amount.as_tuple().exponent < -2:
        raise ValueError("Högst två decimaler (öre).")
    if amount > Decimal("1e12"):
        raise ValueError("Beloppet är orimligt stort.")
    return int(amount * 100)


def format_kronor_plain(ore: int) -> str:
    """öre -> ``"1234,50"`` (form fields and files: no thousands separator)."""
    sign = "-" if ore < 0 else ""
    kronor, rest = divmod(abs(ore), 100)
    return f"{sign}{kronor},{rest:02d}"
