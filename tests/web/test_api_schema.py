"""Schemathesis over the JSON API (slow suite): generated requests from the OpenAPI document,
logged in as an admin with an API token, both valid and invalid requests; no 5xx, and every
response matches the document (status code, content type, body schema).
``SIMAP_SCHEMATHESIS_EXAMPLES`` bounds the examples per operation and mode (default 25).

    pytest -m slow tests/web/test_api_schema.py
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the apitest extra")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("SIMAP_SCHEMATHESIS_EXAMPLES", "25"))
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]  # valid requests, and invalid ones
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def admin_token(web_store: Any) -> str:
    from simap.store import accounts

    token, _ = accounts.create_token(web_store, "ada", "schemathesis", actor="ada")
    return token


@pytest.fixture
def api_schema(app: Any, admin_token: str) -> Any:
    return schemathesis.openapi.from_asgi(
        "/api/openapi.json", app, headers={"Authorization": f"Bearer {admin_token}"}
    )


def _unrevoke(store: Any, token: str) -> None:
    """Generated requests may revoke the token they use (DELETE /api/tokens/1): undo it."""
    import sqlalchemy as sa

    from simap.store.accounts import _token_hash
    from simap.store.schema import ApiToken

    with store.engine.begin() as conn:
        mine = ApiToken.token_hash == _token_hash(token)
        conn.execute(sa.update(ApiToken).where(mine).values(revoked_at=None))


def test_api_matches_its_schema(api_schema: Any, admin_token: str, web_store: Any) -> None:
    """Every operation, ``EXAMPLES`` generated cases each (one test: schemathesis's pytest plugin
    cannot take the app from a fixture under pytest 9)."""
    from hypothesis import given

    headers = {"Authorization": f"Bearer {admin_token}"}
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) >= 25

    for operation, mode in itertools.product(operations, MODES):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            report_multiple_bugs=False,
        )
        def run(case: Any) -> None:
            _unrevoke(web_store, admin_token)
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses[response.status_code] += 1

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure together
            failures.append(f"{operation.label} ({mode}): {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    ok = sum(n for status, n in statuses.items() if status < 300)
    assert ok >= len(operations), f"too few accepted requests to mean much: {dict(statuses)}"
    print(f"schemathesis: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
