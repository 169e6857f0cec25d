"""The dashboard's tests run its pages in Streamlit's AppTest, in this process: each module
gets what `earpiece dashboard` assembles before its first page, whichever worker runs it
first (a module that forgot to ask failed only when no earlier module on its worker had)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _dashboard_assembled(assembled_dashboard: None) -> None:
    """Every test here, as if under `earpiece dashboard` (tests/conftest.py)."""
