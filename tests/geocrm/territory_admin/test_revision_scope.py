"""A territory revision is its author's (or an admin's): the import's "done" page of another
manager's revision answers 404 like undo does (issue 18's route sweep found it open)."""

from __future__ import annotations

import pytest

from geocrm.extensions import db
from geocrm.models import Role
from geocrm.models.territory_admin import TerritoryRevision
from tests.conftest import PASSWORD
from tests.factories import make_user

pytestmark = pytest.mark.parametrize("engine_name", ["sqlite"])


def test_the_import_done_page_is_the_importers_only(client, auth, world):
    """The author and admins open it; another manager and a missing id get 404."""
    make_user("lonely@example.com", Role.MANAGER, PASSWORD)
    rev = TerritoryRevision(kind="import", summary="x", created_by_id=world.manager.id)
    db.session.add(rev)
    db.session.commit()
    url = f"/territories/import/done/{rev.id}"
    for email, status in (("manager@example.com", 200), ("admin@example.com", 200),
                          ("lonely@example.com", 404)):
        auth.login(email)
        assert client.get(url).status_code == status, email
        assert client.get(f"/territories/import/done/{rev.id + 1}").status_code == 404
        auth.logout()
