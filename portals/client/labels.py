"""What the client reads for a case's and a fullmakt's state: a label and a badge style."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from shared.counselling.models import CaseStatus, FullmaktStatus

FULLMAKT_STATUS = {
    FullmaktStatus.PENDING: (_l("Väntar på din underskrift"), "warn"),
    FullmaktStatus.ACTIVE: (_l("Aktiv"), "ok"),
    FullmaktStatus.REVOKED: (_l("Återkallad"), "bad"),
    FullmaktStatus.EXPIRED: (_l("Utgången"), "info"),
    FullmaktStatus.DELETED: (_l("Raderad"), "bad"),
}

CASE_STATUS = {
    CaseStatus.PENDING: (_l("Väntar på fullmakt"), "warn"),
    CaseStatus.ACTIVE: (_l("Pågår"), "ok"),
    CaseStatus.ENDED: (_l("Avslutat"), "info"),
}


def fullmakt_status(status: FullmaktStatus | str) -> tuple[str, str]:
    label, style = FULLMAKT_STATUS[FullmaktStatus(status)]
    return str(label), style


def case_status(status: CaseStatus | str) -> tuple[str, str]:
    label, style = CASE_STATUS[CaseStatus(status)]
    return str(label), style
