"""The suite's own rules: helpers come from tests/factories (browser steps from
tests/e2e/flows.py), never from another test module or a conftest."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(
    r"^\s*(?:from|import)\s+tests\.(?:(?:\w+\.)*test_\w+|(?:\w+\.)*conftest)\b", re.MULTILINE
)


def test_no_test_imports_from_another_test_module_or_a_conftest():
    offenders = [
        f"{path.relative_to(TESTS.parent)}: {match.group(0).strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != "conftest.py"
        for match in FORBIDDEN.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "import these from tests.factories or tests.e2e.flows instead"


def test_the_rule_catches_what_it_is_for():
    for line in (
        "from tests.integration.test_cases import register",
        "    from tests.conftest import login_staff",
        "from tests.e2e.conftest import shot",
        "import tests.portals.test_creditor_api",
    ):
        assert FORBIDDEN.search(line), line
    assert not FORBIDDEN.search("from tests.factories import register")
    assert not FORBIDDEN.search("from tests.e2e.flows import shot")
