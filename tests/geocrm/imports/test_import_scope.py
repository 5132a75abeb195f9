"""Imports are scoped to who made them (issue 18): a manager lists, opens and downloads only
their own imports and their duplicates reports; admins see every import. The reports never
name an account the reader may not see."""

from __future__ import annotations

import pytest

from geocrm.extensions import db
from geocrm.imports.services import import_accounts
from geocrm.models import Role
from tests.conftest import PASSWORD
from tests.factories import make_user

# Scoping is SQL both engines run alike: SQLite only.
pytestmark = pytest.mark.parametrize("engine_name", ["sqlite"])
FILE = ("Licence,Name,Latitude,Longitude\n"
        "K1,Kahvila Aalto,60.16,24.91\n"  # like a West account: named (the manager's)
        "K2,Itä Bakery,60.16,24.97\n")  # like an East account: another manager's


def _manager_import(world, filename: str = "boss-customers.csv") -> int:
    """The territories' manager imports a file whose rows look like accounts of both."""
    result = import_accounts(FILE.encode(), filename=filename, user=world.manager,
                             source="erp")
    assert result.batch_id and len(result.duplicates) == 2, result
    db.session.commit()
    return int(result.batch_id)


def test_a_manager_without_territories_sees_no_other_managers_import(client, auth, world):
    """/imports/ does not list another manager's file, and its duplicates report is a 404."""
    make_user("lonely@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    batch = _manager_import(world)
    auth.login("lonely@example.com")
    assert b"boss-customers.csv" not in client.get("/imports/").data
    assert client.get(f"/imports/batches/{batch}/duplicates.csv").status_code == 404
    assert client.get(f"/imports/conflicts?batch={batch}").status_code == 200  # empty list


def test_the_importer_and_admins_see_it(client, auth, world):
    """The manager who imported and every admin list it and download its report."""
    batch = _manager_import(world)
    for email in ("manager@example.com", "admin@example.com"):
        auth.login(email)
        assert b"boss-customers.csv" in client.get("/imports/").data
        report = client.get(f"/imports/batches/{batch}/duplicates.csv")
        assert report.status_code == 200 and "Kahvila Aalto" in report.get_data(as_text=True)
        auth.logout()


def test_the_duplicates_report_names_only_accounts_the_reader_may_see(client, auth, world):
    """East is another manager's now: the report says the row is like "an account you cannot
    see" instead of naming it; West's account is still named."""
    other = make_user("east-boss@example.com", Role.MANAGER, PASSWORD)
    world.east.manager_id = other.id
    db.session.commit()
    batch = _manager_import(world)
    auth.login("manager@example.com")
    text = client.get(f"/imports/batches/{batch}/duplicates.csv").get_data(as_text=True)
    assert f"account {world.west_accounts[0].id} 'Kahvila Aalto'" in text
    assert f"account {world.east_accounts[0].id}" not in text
    assert "an account you cannot see" in text
    auth.logout()
    auth.login("admin@example.com")
    text = client.get(f"/imports/batches/{batch}/duplicates.csv").get_data(as_text=True)
    assert f"account {world.east_accounts[0].id} 'Itä Bakery'" in text
