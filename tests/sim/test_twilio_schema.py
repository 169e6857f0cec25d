"""The vendored part of Twilio's OpenAPI file is still what Twilio's full file says."""

from __future__ import annotations

import json

import pytest

from tests.twilio_schema import FULL, FULLS, spec


@pytest.mark.skipif(not FULL.is_file(), reason="shared/twilio-oai is not beside this checkout")
@pytest.mark.parametrize("source", sorted(FULLS))
def test_subset_matches_the_full_file(source: str) -> None:
    full = json.loads(FULLS[source].read_text())
    subset = spec(source)
    for path, body in subset["paths"].items():
        assert full["paths"][path] == body, path
    for name, body in subset["components"]["schemas"].items():
        assert full["components"]["schemas"][name] == body, name


def test_subset_has_what_the_simulator_serves() -> None:
    schemas = spec()["components"]["schemas"]
    for name in (
        "api.v2010.account.conference",
        "api.v2010.account.conference.participant",
        "api.v2010.account.call",
    ):
        assert "properties" in schemas[name]
