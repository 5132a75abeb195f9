"""The app builds and a user can sign in."""

from __future__ import annotations


def test_login_and_home(client, auth, world):
    """A manager signs in with the right password and lands on the home page."""
    r = auth.login("manager@example.com")
    assert r.status_code == 302
    r = client.get("/home")
    assert r.status_code == 200
    assert b"Territories" in r.data
