"""People (issue 17): invitations, roles and territories, deactivation that ends access at
once, password resets and changes, on the pages and the CLI."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from geocrm.api.tokens import create_token
from geocrm.extensions import db
from geocrm.models import AccessLink, AuditEntry, Role, User, utcnow
from tests.conftest import PASSWORD

NEW_PASSWORD = "a-new-passphrase"


def _fresh() -> None:
    g.pop("_login_user", None)  # the tests' app context outlives requests (see test_sessions)


def _login(client, email, password=PASSWORD):
    _fresh()
    return client.post("/login", data={"email": email, "password": password})


def _link_in(html: str) -> str:
    found = re.search(r'value="(http://[^"]*/people/join/[^"]+)"', html)
    assert found, "no link on the page"
    return found.group(1).replace("http://localhost", "")


def _invite(client, world, **fields) -> str:
    data = {"email": "new.rep@example.com", "name": "김민준", "role": "rep",
            "territories": [world.west.id], **fields}
    r = client.post("/people/invite", data=data)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return _link_in(r.get_data(as_text=True))


def _user(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == email)).one_or_none()


def test_only_admins_manage_people(app, client, world):
    for who in (world.manager, world.planner, world.rep_west):
        c = app.test_client()
        _login(c, who.email)
        _fresh()
        assert c.get("/people/").status_code == 403
        _fresh()
        assert c.post("/people/invite", data={"email": "x@example.com", "name": "x",
                                              "role": "admin"}).status_code == 403


def test_invitation_link_joins_once_with_role_and_territories(app, client, world):
    _login(client, world.admin.email)
    _fresh()
    path = _invite(client, world)
    # the token is stored hashed
    token = path.rsplit("/", 1)[1]
    assert not db.session.scalars(select(AccessLink).where(AccessLink.token_hash == token)).all()
    newcomer = app.test_client()
    page = newcomer.get(path)
    assert page.status_code == 200 and "new.rep@example.com" in page.get_data(as_text=True)
    r = newcomer.post(path, data={"password": "short", "confirm": "short"})
    assert r.status_code == 422  # the password rule names the field
    _fresh()
    r = newcomer.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 303
    user = _user("new.rep@example.com")
    assert user is not None and user.role == Role.REP and user.name == "김민준"
    assert [t.id for t in user.territories] == [world.west.id]
    _fresh()
    assert newcomer.get("/accounts/").status_code == 200  # signed in by joining
    _fresh()
    assert app.test_client().get(path).status_code == 404  # used once
    actions = {e.action for e in db.session.scalars(select(AuditEntry))}
    assert {"invite", "joined"} <= actions


def test_expired_invitation_is_refused(app, client, world):
    _login(client, world.admin.email)
    _fresh()
    path = _invite(client, world)
    for link in db.session.scalars(select(AccessLink)):
        link.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert app.test_client().get(path).status_code == 404


def test_inviting_a_registered_email_names_the_field(client, world):
    _login(client, world.admin.email)
    _fresh()
    r = client.post("/people/invite", data={"email": world.rep_east.email, "name": "Again",
                                            "role": "rep"})
    assert r.status_code == 422
    assert "already has an account" in r.get_data(as_text=True)


def test_deactivation_ends_sessions_and_api_tokens_at_once(app, client, world):
    phone = app.test_client()
    _login(phone, world.rep_west.email)
    _, plain = create_token(world.rep_west, "phone")
    db.session.commit()
    bearer = {"Authorization": f"Bearer {plain}"}
    _fresh()
    assert app.test_client().get("/api/v1/today", headers=bearer).status_code == 200
    _login(client, world.admin.email)
    _fresh()
    r = client.post(f"/people/{world.rep_west.id}/active", data={"active": "0"})
    assert r.status_code == 303
    _fresh()
    assert phone.get("/accounts/").status_code == 302  # signed out on the phone
    _fresh()
    assert app.test_client().get("/api/v1/today", headers=bearer).status_code == 401
    assert _login(app.test_client(), world.rep_west.email).status_code == 401
    user = db.session.get(User, world.rep_west.id)
    assert user is not None and not user.active  # kept, with history
    _fresh()
    client.post(f"/people/{world.rep_west.id}/active", data={"active": "1"})
    assert _login(app.test_client(), world.rep_west.email).status_code == 302


def test_admins_cannot_lock_everyone_out(client, world):
    _login(client, world.admin.email)
    _fresh()
    client.post(f"/people/{world.admin.id}/active", data={"active": "0"})
    assert db.session.get(User, world.admin.id).active
    _fresh()
    r = client.post(f"/people/{world.admin.id}",
                    data={"name": "Admin", "role": "rep", "territories": []})
    assert r.status_code == 422
    assert db.session.get(User, world.admin.id).role == Role.ADMIN


def test_role_and_territories_change(client, world):
    _login(client, world.admin.email)
    _fresh()
    r = client.post(f"/people/{world.rep_east.id}",
                    data={"name": "East Rep", "role": "rep",
                          "territories": [world.west.id, world.east.id]})
    assert r.status_code == 303
    user = db.session.get(User, world.rep_east.id)
    assert sorted(t.id for t in user.territories) == sorted([world.west.id, world.east.id])
    _fresh()
    r = client.post(f"/people/{world.rep_east.id}",
                    data={"name": "East Rep", "role": "emperor", "territories": []})
    assert r.status_code == 422


def test_reset_link_sets_a_new_password_and_signs_out_elsewhere(app, client, world):
    laptop = app.test_client()
    _login(laptop, world.rep_west.email)
    _login(client, world.admin.email)
    _fresh()
    r = client.post(f"/people/{world.rep_west.id}/reset")
    path = _link_in(r.get_data(as_text=True))
    _fresh()
    r = app.test_client().post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 303
    _fresh()
    assert laptop.get("/accounts/").status_code == 302
    assert _login(app.test_client(), world.rep_west.email).status_code == 401
    assert _login(app.test_client(), world.rep_west.email, NEW_PASSWORD).status_code == 302


def test_changing_ones_own_password(app, client, world):
    other = app.test_client()
    _login(other, world.planner.email)
    _login(client, world.planner.email)
    _fresh()
    assert client.get("/people/me").status_code == 200
    _fresh()
    r = client.post("/people/me", data={"current_password": "wrong-one",
                                        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 422
    _fresh()
    r = client.post("/people/me", data={"current_password": PASSWORD,
                                        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 303
    _fresh()
    assert client.get("/accounts/").status_code == 200  # this browser stays signed in
    _fresh()
    assert other.get("/accounts/").status_code == 302  # the other is signed out


@pytest.mark.parametrize("locale,word", [("ko", "사용자"), ("ja", "ユーザー")])
def test_people_page_speaks_the_admins_language(client, world, locale, word):
    world.admin.locale = locale
    db.session.commit()
    _login(client, world.admin.email)
    _fresh()
    html = client.get("/people/").get_data(as_text=True)
    assert word in html


def test_cli_invite_deactivate_reset(app, runner, world):
    r = runner.invoke(args=["users", "invite", "cli.rep@example.com", "--name", "山田花子",
                            "--role", "rep", "--territory", world.east.name])
    assert r.exit_code == 0, r.output
    assert "/people/join/" in r.output
    r = runner.invoke(args=["users", "invite", "x@example.com", "--name", "X",
                            "--territory", "Atlantis"])
    assert r.exit_code != 0 and "Atlantis" in r.output
    r = runner.invoke(args=["users", "deactivate", world.rep_east.email])
    assert r.exit_code == 0, r.output
    assert not db.session.get(User, world.rep_east.id).active
    r = runner.invoke(args=["users", "reset-password", world.rep_west.email])
    assert r.exit_code == 0 and "/people/join/" in r.output
    r = runner.invoke(args=["users", "list"])
    assert "deactivated" in r.output and world.rep_west.email in r.output
