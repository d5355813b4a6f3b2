"""SQLAlchemy 2.0 typed models, one module per aggregate."""

from shared.models.audit import AuditEntry
from shared.models.bankid import BankIdOrder
from shared.models.base import Base, TenantOwned
from shared.models.case import Case, CaseStatus, Fullmakt, FullmaktStatus
from shared.models.email import EmailMessage
from shared.models.inquiry import (
    Answer,
    ApiKey,
    BudgetEntry,
    Channel,
    Creditor,
    Debt,
    DebtSource,
    Inquiry,
    InquiryStatus,
)
from shared.models.keys import DataKey
from shared.models.organisation import Organisation, OrgKind
from shared.models.outbox import OutboxMessage
from shared.models.person import Person
from shared.models.user import ROLE_ORG_KINDS, Role, User
from shared.models.webhook import (
    CreditorNotice,
    DeliveryStatus,
    FullmaktSubscription,
    IdempotencyRecord,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "WebhookEndpoint",
    "WebhookDelivery",
    "WebhookAttempt",
    "IdempotencyRecord",
    "FullmaktSubscription",
    "DeliveryStatus",
    "CreditorNotice",
    "ROLE_ORG_KINDS",
    "Answer",
    "ApiKey",
    "AuditEntry",
    "BankIdOrder",
    "Base",
    "BudgetEntry",
    "Case",
    "CaseStatus",
    "Channel",
    "Creditor",
    "DataKey",
    "Debt",
    "DebtSource",
    "EmailMessage",
    "Fullmakt",
    "FullmaktStatus",
    "Inquiry",
    "InquiryStatus",
    "OrgKind",
    "Organisation",
    "OutboxMessage",
    "Person",
    "Role",
    "TenantOwned",
    "User",
]
