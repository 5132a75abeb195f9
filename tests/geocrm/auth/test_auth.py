"""Sign-in, hashed passwords, the login rate limit, session cookies and CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from geocrm.extensions import db
from geocrm.models import User
from tests.conftest import PASSWORD


def test_password_is_hashed(world):
    """The password is stored as a salted hash, never in clear; the default method is scrypt."""
    user = db.session.scalars(select(User).where(User.email == "west@example.com")).one()
    assert PASSWORD not in user.password_hash
    assert user.check_password(PASSWORD) and not user.check_password("nope")
    user.set_password("another-password")
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("another-password")


def test_wrong_password_and_unknown_email_look_the_same(client, world):
    """A bad password and an unknown email give the same 401 and message (no user enumeration)."""
    a = client.post("/login", data={"email": "west@example.com", "password": "wrong-password"})
    b = client.post("/login", data={"email": "ghost@example.com", "password": "wrong-password"})
    assert a.status_code == b.status_code == 401
    assert b"Wrong email or password." in a.data and b"Wrong email or password." in b.data


def test_login_is_rate_limited(client, world):
    """After five failures in the window even the right password is refused with 429."""
    for _ in range(5):
        r = client.post("/login", data={"email": "west@example.com", "password": "bad-guess"})
        assert r.status_code == 401
    r = client.post("/login", data={"email": "west@example.com", "password": PASSWORD})
    assert r.status_code == 429
    assert b"Too many failed sign-ins" in r.data
    # Another user from the same address is not locked out by one account's failures.
    r = client.post("/login", data={"email": "east@example.com", "password": PASSWORD})
    assert r.status_code == 302


def test_deactivated_user_cannot_sign_in(client, world):
    """An inactive account cannot log in, even with the right password."""
    world.rep_west.active = False
    db.session.commit()
    r = client.post("/login", data={"email": "west@example.com", "password": PASSWORD})
    assert r.status_code == 401


def test_logout_requires_post(client, auth, world):
    """Logout is a POST (a GET link on another site cannot sign the user out)."""
    auth.login("west@example.com")
    assert client.get("/logout").status_code == 405
    assert auth.logout().status_code == 302
    assert client.get("/home").status_code == 302


def test_open_redirect_is_refused(client, world):
    """`next` may only point inside the app."""
    r = client.post(
        "/login?next=https://evil.example/x",
        data={"email": "west@example.com", "password": PASSWORD},
    )
    assert r.headers["Location"] == "/home"
    client.post("/logout")
    r = client.post(
        "/login?next=/accounts/", data={"email": "east@example.com", "password": PASSWORD}
    )
    assert r.headers["Location"] == "/accounts/"


def test_session_cookie_flags(client, world):
    """The session cookie is HttpOnly and SameSite=Lax."""
    r = client.post("/login", data={"email": "west@example.com", "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.fixture
def csrf_app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


@pytest.mark.parametrize(
    "path",
    ["/login", "/logout", "/accounts/1/edit", "/accounts/1/contacts"],
)
def test_csrf_is_enforced_on_forms(csrf_app_config, app, world, path):
    """With CSRF on (as in production), a POST without the token is refused with 400."""
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(world.admin.id)
        sess["_fresh"] = True
    r = client.post(path, data={"email": "west@example.com", "password": PASSWORD, "name": "x"})
    assert r.status_code == 400


def test_csrf_token_makes_login_work(csrf_app_config, app, world):
    """The login form carries a token and a real browser-like post with it succeeds."""
    import re

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post(
        "/login", data={"email": "west@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 302


def test_security_headers(client, world):
    """Every page says: scripts and connections only from this origin."""
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_create_user_cli(runner, world):
    """`flask create-user` hashes the password and refuses a duplicate email."""
    r = runner.invoke(
        args=["create-user", "--email", "New@Example.com", "--name", "New", "--role", "rep",
              "--password", "long-enough-pw"],
    )
    assert r.exit_code == 0, r.output
    user = db.session.scalars(select(User).where(User.email == "new@example.com")).one()
    assert user.check_password("long-enough-pw")
    r = runner.invoke(
        args=["create-user", "--email", "new@example.com", "--name", "New", "--role", "rep",
              "--password", "long-enough-pw"],
    )
    assert r.exit_code != 0 and "already registered" in r.output


def test_login_accepts_private_domain_addresses(client, app):
    """Sign-in works for addresses on private domains such as .local (the demo's logins)."""
    from geocrm.models import Role
    from tests.factories import make_user

    make_user("rep1@demo.geocrm.local", Role.REP, PASSWORD)
    db.session.commit()
    r = client.post("/login", data={"email": "rep1@demo.geocrm.local", "password": PASSWORD})
    assert r.status_code == 302


def test_session_survives_a_new_address_or_user_agent(client, auth, world):
    """A rep's phone changes IP between cell towers (and its service worker may send another
    User-Agent): the session must survive both."""
    auth.login("west@example.com")
    r = client.get("/home", headers={"User-Agent": "ServiceWorker/1.0"},
                   environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.status_code == 200
