"""Sessions are rows (sign-out really signs out) and sign-in throttling is a delay, never a
lock a stranger can hold over someone else's account (issue 18)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select, update

from geocrm.auth import services as auth_services
from geocrm.auth import sessions
from geocrm.extensions import db
from geocrm.models import LoginAttempt, User, UserSession
from tests.conftest import PASSWORD

PAGE = "/accounts/"


def _signed_in(client) -> bool:
    # The tests' app context outlives requests, and Flask-Login caches the user in ``g`` for
    # the context: forget it, as a real new request would.
    g.pop("_login_user", None)
    return client.get(PAGE).status_code == 200


def _cookie(client, name: str) -> str | None:
    found = client.get_cookie(name)
    return found.value if found else None


def _login(client, email: str, password: str = PASSWORD, **extra):
    g.pop("_login_user", None)
    return client.post("/login", data={"email": email, "password": password, **extra})


def test_a_session_cookie_copied_before_logout_stops_working(app, client, world):
    assert _login(client, world.rep_west.email).status_code == 302
    copied = _cookie(client, "session")
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert _signed_in(thief)  # the copy works while the session lives (the test can fail)
    assert client.post("/logout").status_code == 302
    assert not _signed_in(thief)
    assert not _signed_in(client)


def test_remember_me_cookie_is_revoked_at_logout(app, client, world):
    assert _login(client, world.rep_west.email, remember="y").status_code == 302
    remembered = _cookie(client, "remember_token")
    assert remembered
    thief = app.test_client()
    thief.set_cookie("remember_token", remembered)
    assert _signed_in(thief)  # the remember cookie alone signs in while its row lives
    client.post("/logout")
    other = app.test_client()
    other.set_cookie("remember_token", remembered)
    assert not _signed_in(other)


def test_end_all_signs_a_user_out_everywhere(app, client, world):
    phone, laptop = app.test_client(), app.test_client()
    _login(phone, world.rep_west.email)
    _login(laptop, world.rep_west.email)
    assert _signed_in(phone) and _signed_in(laptop)
    user = db.session.get(User, world.rep_west.id)
    assert len(sessions.live(user)) == 2
    assert sessions.end_all(user) == 2
    db.session.commit()
    assert not _signed_in(phone) and not _signed_in(laptop)


def test_deactivation_ends_live_sessions(app, client, world):
    _login(client, world.rep_west.email)
    assert _signed_in(client)
    db.session.execute(update(User).where(User.id == world.rep_west.id).values(active=False))
    db.session.commit()
    assert not _signed_in(client)


def test_expired_session_is_refused(client, world):
    _login(client, world.rep_west.email)
    db.session.execute(update(UserSession).values(expires_at=auth_services.utcnow()
                                                  - timedelta(seconds=1)))
    db.session.commit()
    assert not _signed_in(client)


def test_session_ids_without_a_token_are_refused(app, world):
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(world.admin.id)  # a pre-upgrade cookie, or a forged one
        sess["_fresh"] = True
    assert not _signed_in(client)


def _age_attempts(seconds: int) -> None:
    """Move every recorded attempt into the past (the delay runs from the last failure)."""
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.at = attempt.at - timedelta(seconds=seconds)
    db.session.commit()


def test_failures_bring_a_growing_delay_not_a_lock(client, world):
    for _ in range(5):
        assert _login(client, world.rep_west.email, "bad-guess").status_code == 401
    r = _login(client, world.rep_west.email)
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= auth_services.MAX_DELAY_S
    _age_attempts(auth_services.MAX_DELAY_S)
    assert _login(client, world.rep_west.email).status_code == 302  # the owner gets in


def test_delay_doubles_and_is_capped():
    now = auth_services.utcnow()
    waits = [auth_services._delay(n, now, 5, now) for n in range(4, 14)]
    assert waits[0] == 0
    assert waits[1:5] == [2, 4, 8, 16]
    assert max(waits) == auth_services.MAX_DELAY_S


def test_a_known_browser_is_not_locked_out_by_a_stranger(app, world):
    owner = app.test_client()
    assert _login(owner, world.rep_west.email).status_code == 302
    assert _cookie(owner, "gcrm_device")
    owner.post("/logout")
    stranger = app.test_client()
    for _ in range(12):
        stranger_r = _login(stranger, world.rep_west.email, "guess")
        assert stranger_r.status_code in (401, 429)
    assert _login(stranger, world.rep_west.email).status_code == 429  # the stranger waits
    assert _login(owner, world.rep_west.email).status_code == 302  # the owner does not


def test_a_device_cookie_of_another_account_does_not_help(app, world):
    client = app.test_client()
    _login(client, world.rep_east.email)
    client.post("/logout")
    for _ in range(5):
        _login(client, world.rep_west.email, "guess")
    assert _login(client, world.rep_west.email).status_code == 429


def test_one_address_failing_on_many_accounts_slows_others_briefly(app, world):
    office = app.test_client()
    for i in range(20):
        _login(office, f"nobody{i}@example.com", "guess")
    r = _login(office, world.rep_east.email)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) <= auth_services.MAX_DELAY_S
    _age_attempts(auth_services.MAX_DELAY_S)
    assert _login(office, world.rep_east.email).status_code == 302


@pytest.mark.parametrize("email", ["ghost@example.com", "west@example.com"])
def test_unknown_and_known_emails_cost_one_password_hash(client, world, monkeypatch, email):
    """Equal work, so equal time: an unknown email is checked against a dummy hash."""
    calls = []
    real_user_check = User.check_password
    real_check = auth_services.check_password_hash

    def count_service(*args):
        calls.append("hash")
        return real_check(*args)

    def count_user(self, password):
        calls.append("hash")
        return real_user_check(self, password)

    monkeypatch.setattr(auth_services, "check_password_hash", count_service)
    monkeypatch.setattr(User, "check_password", count_user)
    assert _login(client, email, "wrong-password").status_code == 401
    assert calls == ["hash"]
