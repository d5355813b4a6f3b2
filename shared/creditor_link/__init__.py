"""Where creditors meet counselling: their inbox of inquiries, customer inquiries
(kundfrågor), fullmakt subscriptions and events, notices, webhooks to their systems and
the API's idempotency. May use ``shared.counselling`` (and ``shared.collection``)."""
