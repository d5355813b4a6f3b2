"""What a creditor reads for an inquiry's and a fullmakt's state: a label and a badge."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from shared.counselling.models import Answer, FullmaktStatus, Inquiry, InquiryStatus

INQUIRY_STATUS = {
    InquiryStatus.QUEUED: (_l("Obesvarad"), "warn"),
    InquiryStatus.DELIVERED: (_l("Obesvarad"), "warn"),
    InquiryStatus.OVERDUE: (_l("Försenad"), "bad"),
    InquiryStatus.CANCELLED: (_l("Fullmakten har upphört"), "info"),
}
ANSWER = {
    Answer.YES: (_l("Besvarad: kund"), "ok"),
    Answer.NO: (_l("Besvarad: ingen kundrelation"), "ok"),
}
FULLMAKT_STATUS = {
    FullmaktStatus.PENDING: (_l("Inte signerad"), "warn"),
    FullmaktStatus.ACTIVE: (_l("Gäller"), "ok"),
    FullmaktStatus.REVOKED: (_l("Återkallad"), "bad"),
    FullmaktStatus.EXPIRED: (_l("Utgången"), "bad"),
    FullmaktStatus.DELETED: (_l("Raderad"), "bad"),
}
SOURCES = {
    "form": _l("Formulär i borgenärsportalen"),
    "api": _l("API"),
    "manual": _l("Inlagt av rådgivaren"),
}


def inquiry_status(inquiry: Inquiry) -> tuple[str, str]:
    if inquiry.status == InquiryStatus.ANSWERED and inquiry.answer is not None:
        label, style = ANSWER[inquiry.answer]
    else:
        label, style = INQUIRY_STATUS.get(inquiry.status, (inquiry.status.value, "info"))
    return str(label), style


def fullmakt_status(status: FullmaktStatus | str, valid: bool) -> tuple[str, str]:
    if FullmaktStatus(status) == FullmaktStatus.ACTIVE and not valid:
        return str(_l("Gäller inte i dag")), "bad"
    label, style = FULLMAKT_STATUS[FullmaktStatus(status)]
    return str(label), style


def answer_source(source: str | None) -> str:
    return str(SOURCES.get(source or "", source or ""))
