"""The API's request and response bodies as pydantic models; spectree turns them into
the OpenAPI document's schemas and validates requests (and responses) against them.
Their docstrings and descriptions are the API's documentation, so they are Swedish.

Request bodies are strict where the API always was (an amount is a JSON integer, not
"100"); unknown members are ignored. Query and header models describe plain strings,
so their optional fields are shown without ``null`` in the document.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
)

from portals.creditor.api import pagination
from shared.core import clock
from shared.counselling.answers import MAX_DEBTS
from shared.counselling.models import InquiryStatus
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.creditor_link.idempotency import MAX_KEY_LENGTH
from shared.creditor_link.models import DeliveryStatus
from shared.identity.rules import IdentityNumberError, parse_personnummer

DebtKind = Literal[tuple(KIND_LABELS)]  # type: ignore[valid-type]
DebtStatus = Literal[tuple(STATUS_LABELS)]  # type: ignore[valid-type]
InquiryState = Literal[tuple(s.value for s in InquiryStatus)]  # type: ignore[valid-type]
DeliveryState = Literal[tuple(s.value for s in DeliveryStatus)]  # type: ignore[valid-type]


PNR_PATTERN = r"^(19|20)?[0-9]{6}[-+]?[0-9]{4}$"
MAX_ORE = 10**13  # 100 000 000 000 kr: more than any debt, less than a BIGINT


def _integral(value: Any) -> Any:
    # JSON has one number type: 1200.0 is the integer 1200 (JSON Schema agrees).
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_ORE:
        return int(value)
    return value


def _no_surrogates(value: str | None) -> str | None:
    # JSON may escape half a UTF-16 pair ("\ud800"); it is no text and cannot be stored.
    if value is not None and any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError(_("Ogiltig text: ett ensamt surrogattecken (\\uD800–\\uDFFF)."))
    return value


# The bounds inside the type and before the validator: so they stay JSON Schema's
# minimum/maximum in the schema of ``Ore | None`` (pydantic 2.14 writes ge/le otherwise).
Ore = Annotated[int, Field(strict=True, ge=0, le=MAX_ORE), BeforeValidator(_integral)]
BasisPoints = Annotated[int, Field(strict=True, ge=0, le=100_000), BeforeValidator(_integral)]


def _iso_date(value: Any) -> Any:
    # only YYYY-MM-DD (format: date); pydantic alone would take "0" as a Unix time
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError(_("Ett datum som ÅÅÅÅ-MM-DD."))
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Text = Annotated[StrictStr, AfterValidator(_no_surrogates)]


def _plain_parameters(schema: dict[str, Any]) -> None:
    """``str | None = None`` is "may be left out" for a query or header parameter: show
    it as the plain type, without ``null`` and without a null default."""
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf")
        if options and {"type": "null"} in options and len(options) == 2:
            [inner] = [o for o in options if o != {"type": "null"}]
            del prop["anyOf"]
            prop.update(inner)
        if "default" in prop and prop["default"] is None:
            del prop["default"]
        schema["properties"][name] = prop


class Parameters(BaseModel):
    model_config = ConfigDict(json_schema_extra=_plain_parameters, populate_by_name=True)


class IdempotencyHeaders(Parameters):
    idempotency_key: str | None = Field(
        None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Valfri, högst 255 tecken (t.ex. ett UUID). En upprepning med samma nyckel "
        "och samma begäran inom 24 timmar ger det första svaret igen och ändrar "
        "ingenting; samma nyckel med en annan begäran ger 422.",
    )


class Page(Parameters):
    limit: int = Field(50, ge=1, le=100, description="Högst så många poster per sida (1–100).")
    cursor: str | None = Field(
        None,
        max_length=60,
        json_schema_extra={"pattern": pagination.PATTERN},
        description="next_cursor från föregående sida.",
    )

    @field_validator("cursor")
    @classmethod
    def _check_cursor(cls, value: str | None) -> str | None:
        if value is not None:
            pagination.decode(value)  # a ValueError is a 422 at "cursor"
        return value


class InquiryQuery(Page):
    status: Literal["answered", "unanswered"] | None = Field(
        None, description="answered: besvarade; unanswered: väntar på svar. Utelämnad: alla."
    )
    personal_number: str | None = Field(
        None,
        max_length=13,
        json_schema_extra={"pattern": PNR_PATTERN, "deprecated": True},
        description="Utfasad: ett personnummer i en URL hamnar i åtkomstloggar och "
        "historik; sök med POST /inquiries/search i stället. Kundens personnummer "
        "(ÅÅÅÅMMDDNNNN eller ÅÅÅÅMMDD-NNNN; även samordningsnummer). Ett nummer vars "
        "kontrollsiffra inte stämmer ger inga träffar.",
    )
    sent_from: IsoDate | None = Field(
        None, description="Skickade denna dag eller senare (svensk tid)."
    )
    sent_to: IsoDate | None = Field(
        None, description="Skickade denna dag eller tidigare (svensk tid)."
    )

    @field_validator("personal_number")
    @classmethod
    def _personal_number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(PNR_PATTERN, value):
            raise ValueError(_("Ange personnumret som ÅÅÅÅMMDD-NNNN eller ÅÅÅÅMMDDNNNN."))
        try:
            return parse_personnummer(value, clock.today()).digits
        except IdentityNumberError:
            # well-formed but no personnummer (check digit, date): it matches nothing
            return "".join(c for c in value if c.isdigit())


class InquirySearch(InquiryQuery):
    """Sökningen av kundfrågor i kroppen: samma filter som GET /inquiries, men
    personnumret hamnar inte i någon URL (och så inte i någon åtkomstlogg)."""

    # a body, not parameters: optional members are shown as nullable
    model_config = ConfigDict(populate_by_name=True, json_schema_extra=None)

    personal_number: str | None = Field(
        None,
        max_length=13,
        json_schema_extra={"pattern": PNR_PATTERN},
        description="Kundens personnummer (ÅÅÅÅMMDDNNNN eller ÅÅÅÅMMDD-NNNN; även "
        "samordningsnummer). Ett nummer vars kontrollsiffra inte stämmer ger "
        "inga träffar.",
    )


class SubscriptionQuery(Page):
    active: bool | None = Field(
        None, description="true: gällande; false: avslutade. Utelämnad: alla."
    )


class DeliveryQuery(Page):
    status: DeliveryState | None = Field(
        None,
        description="pending: väntar på (nytt) försök; succeeded: mottagaren svarade 2xx; "
        "failed: gav upp efter schemat för nya försök.",
    )


# -- bodies ---------------------------------------------------------------------------


class DebtIn(BaseModel):
    """En skuld i ett ja-svar. Belopp i öre (heltal)."""

    reference: Text | None = Field(
        None, max_length=100, description="Ert referens- eller kontonummer."
    )
    kind: DebtKind = Field(description="Skuldslag.")
    status: DebtStatus | None = Field(None, description="Utelämnad: undisputed.")
    capital_ore: Ore = Field(description="Kapital i öre.")
    interest_ore: Ore | None = Field(None, description="Upplupen ränta i öre.")
    fees_ore: Ore | None = Field(None, description="Avgifter i öre.")
    interest_rate_bp: BasisPoints | None = Field(
        None, description="Räntesats i baspunkter (1250 = 12,5 %)."
    )
    original_creditor: Text | None = Field(
        None, max_length=200, description="Ursprunglig borgenär."
    )
    kfm_case: Text | None = Field(None, max_length=40, description="Kronofogdens målnummer.")
    note: Text | None = Field(None, max_length=1000)


class AnswerIn(BaseModel):
    """Svaret: no (ingen kundrelation, inga skulder) eller yes (kunden har skulder hos
    er, minst en)."""

    # The service's rule, in the document too: a yes carries at least one debt, a no none.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"answer": {"const": "yes"}}},
                    "then": {
                        "required": ["debts"],
                        "properties": {"debts": {"type": "array", "minItems": 1}},
                    },
                },
                {
                    "if": {"properties": {"answer": {"const": "no"}}},
                    "then": {
                        "properties": {
                            "debts": {"anyOf": [{"type": "array", "maxItems": 0}, {"type": "null"}]}
                        }
                    },
                },
            ]
        }
    )

    answer: Literal["yes", "no"]
    debts: list[DebtIn] | None = Field(
        None, max_length=MAX_DEBTS, description="Skulderna vid yes; tom eller utelämnad vid no."
    )
    send_fullmakt: StrictBool = Field(
        True,
        description="Vid yes: skicka fullmakten till ert system (webhooken "
        "fullmakt.sent) om ni har en webhook-mottagare.",
    )


class SubscriptionIn(BaseModel):
    """Prenumerera på en fullmakt."""

    fullmakt_id: uuid.UUID = Field(description="En fullmakt som ni har svarat ja under.")
    resend_fullmakt: StrictBool = Field(
        False, description="Skicka fullmakten till ert system igen (fullmakt.sent)."
    )


# -- responses ------------------------------------------------------------------------


class FieldProblem(BaseModel):
    """Ett fel i indata: var och vad."""

    field: str = Field(description="Var: t.ex. debts[2].capital_ore, cursor, Idempotency-Key.")
    message: str


class Problem(BaseModel):
    """Ett fel enligt RFC 9457 (application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str | None = Field(
        None,
        description="Vilket problem, för maskiner: t.ex. "
        "invalid_api_key, not_found, already_answered.",
    )
    instance: str | None = None
    errors: list[FieldProblem] | None = Field(None, description="Varje fel i indata.")


class Agent(BaseModel):
    """Ombudet: budget- och skuldrådgivningen som agerar med stöd av fullmakten."""

    organisation: str
    orgnr: str | None
    counsellor: str | None


class FullmaktRef(BaseModel):
    """Fullmakten som frågan ställs med stöd av."""

    id: uuid.UUID
    code: str | None = Field(description="Fullmaktens kod, FM-XXXX-XXXX.")
    signed_at: datetime | None
    valid_from: date | None
    valid_until: date | None


class Debt(BaseModel):
    """En skuld som ni har rapporterat (belopp i öre)."""

    id: uuid.UUID
    reference: str | None
    kind: str
    status: str
    capital_ore: int
    interest_ore: int
    fees_ore: int
    total_ore: int
    interest_rate_bp: int | None
    original_creditor: str | None
    kfm_case: str | None
    note: str | None


class Inquiry(BaseModel):
    """En kundfråga. Efter ett nej sägs inget mer om personen än personnumret:
    principal_name och agent är då null."""

    inquiry_id: uuid.UUID
    status: InquiryState
    sent_at: datetime
    delivered_at: datetime | None
    personal_number: str
    principal_name: str | None
    agent: Agent | None
    fullmakt: FullmaktRef
    answer_url: str
    answer: Literal["yes", "no"] | None
    answered_at: datetime | None
    changed_at: datetime | None = Field(description="När ett nej ändrades till ja.")
    answer_source: str | None
    debts: list[Debt]


class InquiryPage(BaseModel):
    """En sida kundfrågor; next_cursor är null på sista sidan."""

    data: list[Inquiry]
    next_cursor: str | None


class AnswerOut(BaseModel):
    """Svaret som det sparades."""

    inquiry_id: uuid.UUID
    status: InquiryState
    answer: Literal["yes", "no"] | None
    answered_at: datetime | None
    changed_at: datetime | None
    answer_source: str | None
    debts: list[Debt]


class Principal(BaseModel):
    """Fullmaktsgivaren."""

    personal_number: str
    name: str | None


class Fullmakt(BaseModel):
    """En fullmakt som mottagarna ser den (samma som i webhooken fullmakt.sent)."""

    id: uuid.UUID
    code: str | None
    type: str
    status: str
    signed_at: datetime | None
    valid_from: date | None
    valid_until: date | None
    principal: Principal
    agent: Agent


class Subscription(BaseModel):
    """En prenumeration på en fullmakts händelser."""

    id: uuid.UUID
    fullmakt_id: uuid.UUID
    fullmakt_code: str | None
    active: bool
    source: str = Field(description="answer (ett ja-svar), portal eller api.")
    created_at: datetime
    ended_at: datetime | None


class SubscriptionPage(BaseModel):
    """En sida prenumerationer; next_cursor är null på sista sidan."""

    data: list[Subscription]
    next_cursor: str | None


class Attempt(BaseModel):
    """Ett försök att leverera."""

    attempted_at: datetime
    trigger: str = Field(description="first, retry eller redeliver.")
    status_code: int | None = Field(description="Mottagarens status; null om inget svar kom.")
    latency_ms: int
    error: str | None


class Delivery(BaseModel):
    """En händelse till en av era webhook-mottagare."""

    id: uuid.UUID
    webhook_id: str = Field(description="Rubriken webhook-id: densamma vid varje försök.")
    event_type: str
    status: DeliveryState
    endpoint_url: str | None
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    succeeded_at: datetime | None
    failed_at: datetime | None


class DeliveryDetail(Delivery):
    """En leverans med varje försök."""

    attempt_log: list[Attempt]


class DeliveryPage(BaseModel):
    """En sida leveranser; next_cursor är null på sista sidan."""

    data: list[Delivery]
    next_cursor: str | None
