"""Swedish identity numbers (personnummer, samordningsnummer, organisationsnummer) and
e-mail addresses.

Personnummer ``YYMMDD-NNNC`` or ``YYYYMMDDNNNC``: ``C`` is the Luhn digit over the ten
digits; ``+`` instead of ``-`` from the year the person turns 100 (folkbokföringslagen
1991:481 18 §; Skatteverket SKV 704). Samordningsnummer: the day plus 60. We store the
12-digit form; the century of a 10-digit number is decided from ``today`` (the project's
clock), never from the system date as python-stdnum does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from email_validator import EmailNotValidError, validate_email
from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.se import orgnr as _orgnr


class IdentityNumberError(ValueError):
    """Says in Swedish what is wrong with the number."""


EMAIL_MAX = 254  # characters (RFC 5321: a forward-path of 256 with its angle brackets)


class EmailAddressError(ValueError):
    """Not an address a mail server accepts."""


def email_address(value: str) -> str:
    """An e-mail address checked strictly (RFC 5321/5322 via email-validator: no quoted
    local part, no spaces or markup, a real domain, ASCII local part) and normalised (the
    domain in lower case). No DNS lookup: a request must not wait for one."""
    value = (value or "").strip()
    if not value or len(value) > EMAIL_MAX:
        raise EmailAddressError()
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise EmailAddressError() from None
    return checked.normalized


@dataclass(frozen=True)
class IdentityNumber:
    digits: str  # 12 digits, YYYYMMDDNNNC
    coordination: bool  # samordningsnummer

    @property
    def birth_date(self) -> date:
        day = int(self.digits[6:8]) - (60 if self.coordination else 0)
        return date(int(self.digits[:4]), int(self.digits[4:6]), day)

    @property
    def gender(self) -> str:
        return "M" if int(self.digits[10]) % 2 else "F"

    def formatted(self) -> str:
        return f"{self.digits[:8]}-{self.digits[8:]}"

    def masked(self) -> str:
        return f"{self.digits[:8]}-****"


_PNR = re.compile(r"^(\d{2})?(\d{6})([-+]?)(\d{4})$")


def parse_personnummer(value: str, today: date) -> IdentityNumber:
    raw = re.sub(r"\s", "", value or "")
    m = _PNR.match(raw)
    if not m:
        raise IdentityNumberError(
            "Ange personnumret som ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN (10 eller 12 siffror)."
        )
    century, yymmdd, sep, tail = m.groups()
    ten = yymmdd + tail
    if not luhn.is_valid(ten):
        raise IdentityNumberError("Kontrollsiffran stämmer inte. Kontrollera personnumret.")
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    coordination = dd > 60
    day = dd - 60 if coordination else dd
    if century:
        year = int(century + yymmdd[:2])
    else:
        # The latest year ending in yy that is not in the future; "+" means 100 years more.
        year = today.year - (today.year - yy) % 100
        if sep == "+":
            year -= 100
    try:
        born = date(year, mm, day)
    except ValueError:
        raise IdentityNumberError(
            "Datumet i personnumret finns inte (månad eller dag är fel)."
        ) from None
    if not century and born > today:
        born = date(year - 100, mm, day)
        year -= 100
    if born > today:
        raise IdentityNumberError("Födelsedatumet ligger i framtiden.")
    return IdentityNumber(f"{year:04d}{yymmdd[2:]}{tail}", coordination)


def parse_orgnr(value: str) -> str:
    """Validate an organisationsnummer; returns ``NNNNNN-NNNN``."""
    try:
        return _orgnr.format(_orgnr.validate(value))
    except ValidationError:
        raise IdentityNumberError(
            "Organisationsnumret är ogiltigt (NNNNNN-NNNN med rätt kontrollsiffra)."
        ) from None


def mask(digits12: str) -> str:
    return f"{digits12[:8]}-****" if len(digits12) == 12 else "****"
