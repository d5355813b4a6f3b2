"""The creditor link's tables: webhooks, fullmakt subscriptions, notices and
idempotency records of the API."""

from shared.creditor_link.models.idempotency import IdempotencyRecord
from shared.creditor_link.models.notices import CreditorNotice
from shared.creditor_link.models.subscriptions import FullmaktSubscription
from shared.creditor_link.models.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "CreditorNotice",
    "DeliveryStatus",
    "FullmaktSubscription",
    "IdempotencyRecord",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
