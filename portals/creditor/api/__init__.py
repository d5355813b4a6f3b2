"""The creditor API (v1): ``views`` (the routes), ``schemas`` (pydantic models),
``spec`` (the OpenAPI document by spectree), ``problems`` (RFC 9457 errors),
``idempotency`` (Idempotency-Key), ``pagination`` (cursors), ``auth`` (the API key rule)
and ``reference`` (the reference page, read from the document)."""
