"""Roles and per-user scoping: a rep only ever sees accounts in their own territories."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD


def account_routes(app):
    """Every URL rule that takes an account id, with the methods it answers."""
    for rule in app.url_map.iter_rules():
        if "account_id" in rule.arguments:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_there_are_account_routes_to_check(app):
    """Guard: the scoping test below really iterates over the account routes."""
    rules = {r.rule for r, _ in account_routes(app)}
    assert {"/accounts/<int:account_id>", "/api/v1/accounts/<int:account_id>"} <= rules


def test_rep_gets_404_for_every_route_of_another_territorys_account(app, client, auth, world):
    """Every account route and method answers 404 for another territory's account, as if missing."""
    auth.login("west@example.com")
    own = world.west_accounts[0].id

    def role_denied(rule, method):
        if method != "GET":
            return False
        url = rule.build({"account_id": own}, append_unknown=False)[1]
        return client.get(url).status_code == 403

    foreign = world.east_accounts[0].id
    missing = 999_999
    checked = 0
    for rule, method in account_routes(app):
        for account_id in (foreign, missing):
            url = rule.build({"account_id": account_id}, append_unknown=False)[1]
            kwargs = {"json": {"name": "hijack"}} if method in {"PATCH", "PUT"} else {}
            if method == "POST":
                kwargs = {"data": {"name": "hijack", "notes": "x"}}
            r = client.open(url, method=method, **kwargs)
            if role_denied(rule, method):
                # A route reps may not use at all answers 403 alike for every id: no leak.
                assert r.status_code == 403, (method, url, r.status_code)
            else:
                assert r.status_code == 404, (method, url, r.status_code)
            checked += 1
    assert checked >= 8
    # ...and nothing was changed on the foreign account.
    from geocrm.extensions import db
    from geocrm.models import Account, Contact

    db.session.expire_all()
    assert db.session.get(Account, foreign).name == world.east_accounts[0].name
    assert db.session.query(Contact).filter_by(account_id=foreign).count() == 0


def test_rep_sees_own_territory_accounts(app, client, auth, world):
    """The same routes answer 200 for the rep's own accounts."""
    auth.login("west@example.com")
    own = world.west_accounts[0].id
    assert client.get(f"/accounts/{own}").status_code == 200
    assert client.get(f"/api/v1/accounts/{own}").status_code == 200
    assert client.get(f"/accounts/{own}/edit").status_code == 200


def test_rep_lists_only_own_accounts(client, auth, world):
    """Lists and the API never include another territory's or unassigned accounts."""
    auth.login("west@example.com")
    items = client.get("/api/v1/accounts").get_json()["items"]
    assert {a["name"] for a in items} == {a.name for a in world.west_accounts}
    page = client.get("/accounts/").get_data(as_text=True)
    assert "Itä Bakery" not in page and "Far Away Ltd" not in page


def test_rep_sees_accounts_they_own_outside_territories(client, auth, world):
    """An account the rep owns (added on the road, outside any territory) stays visible to them."""
    from geocrm.extensions import db

    world.unassigned.owner_id = world.rep_west.id
    db.session.commit()
    auth.login("west@example.com")
    assert client.get(f"/accounts/{world.unassigned.id}").status_code == 200
    auth.logout()
    auth.login("east@example.com")
    assert client.get(f"/accounts/{world.unassigned.id}").status_code == 404


def test_manager_sees_managed_and_unassigned(client, auth, world):
    """A manager sees the territories they manage plus the unassigned accounts to place."""
    auth.login("manager@example.com")
    names = {a["name"] for a in client.get("/api/v1/accounts").get_json()["items"]}
    assert "Far Away Ltd" in names and "Itä Bakery" in names and "Kahvila Aalto" in names


def test_manager_does_not_see_other_managers_territories(client, auth, world):
    """Territories managed by someone else are out of a manager's scope."""
    from geocrm.extensions import db
    from geocrm.models import Role
    from tests.factories import make_user

    other = make_user("other-manager@example.com", Role.MANAGER, PASSWORD)
    world.east.manager_id = other.id
    db.session.commit()
    auth.login("manager@example.com")
    assert client.get(f"/accounts/{world.east_accounts[0].id}").status_code == 404
    assert client.get(f"/accounts/{world.west_accounts[0].id}").status_code == 200


@pytest.mark.parametrize("email", ["admin@example.com", "planner@example.com"])
def test_company_wide_roles_see_everything(client, auth, world, email):
    """Admins and planners see every account."""
    auth.login(email)
    assert client.get("/api/v1/accounts").get_json()["total"] == 5


def test_anonymous_is_sent_to_login_or_gets_401(client, world):
    """Pages redirect to the login; the API answers 401 with a problem document."""
    r = client.get("/accounts/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = client.get(f"/accounts/{world.west_accounts[0].id}")
    assert r.status_code == 302
    r = client.get("/api/v1/accounts")
    assert r.status_code == 401 and r.mimetype == "application/problem+json"


def test_rep_cannot_open_manager_pages(client, auth, world):
    """Role checks: the territory map and imports are not for reps."""
    auth.login("west@example.com")
    assert client.get("/maps/territories").status_code == 403
    assert client.get("/imports/").status_code == 403


def test_user_text_is_escaped(client, auth, world):
    """An account named with HTML is shown as text, never as markup."""
    auth.login("east@example.com")
    html = client.get(f"/accounts/{world.east_accounts[1].id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Oy" in html
