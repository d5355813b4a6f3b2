"""The creditor API lives in ``portals.creditor.api``; its blueprint is registered from
here, as before."""

from portals.creditor.api.auth import api_key
from portals.creditor.api.views import bp

__all__ = ["api_key", "bp"]
