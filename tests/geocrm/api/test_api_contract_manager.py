"""The schemathesis contract run as a manager (see test_api_contract.py; its own file so the
suite's workers can run the two roles side by side)."""

from __future__ import annotations

from tests.geocrm.api.test_api_contract import fuzz_as


def test_schemathesis_as_a_manager(app, world):
    fuzz_as(app, world, "manager")
