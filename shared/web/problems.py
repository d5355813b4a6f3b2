"""The one builder of RFC 9457 problem details (``application/problem+json``) for every
API response that is an error: HTTP errors, domain errors, invalid requests.

``type`` is about:blank, so ``title`` is the status phrase; the extension member ``code``
says which problem it is, for machines, and ``errors: [{"field", "message"}]`` lists
every invalid input with its path (``debts[2].capital_ore``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, jsonify, request
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_JSON = "application/problem+json"


def is_api_request() -> bool:
    return "/api/" in request.path


def problem(
    status: int,
    detail: str,
    *,
    code: str,
    errors: list[dict] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, ""),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.script_root + request.path,
    }
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
