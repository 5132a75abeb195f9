"""The navigation app a person's route links open first is saved in their profile (issue 12),
so every device and page knows it: Your account, the field app's choice, the plan page."""

from __future__ import annotations

import json
import re

from flask import g

from geocrm.extensions import db
from geocrm.models import User
from tests.conftest import PASSWORD


def _as(client, user):
    g.pop("_login_user", None)
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    g.pop("_login_user", None)


def _nav_default(html: str) -> str:
    data = re.search(r'<script type="application/json" id="geocrm-data">(.*?)</script>', html,
                     re.S)
    assert data
    return json.loads(data.group(1))["navDefault"]


def test_the_choice_is_saved_and_every_page_offers_it_first(client, world):
    _as(client, world.rep_west)
    assert _nav_default(client.get("/app/").get_data(as_text=True)) == "google"
    g.pop("_login_user", None)
    r = client.post("/people/me/nav-app", data={"nav_app": "kakao"})
    assert r.status_code == 303
    assert db.session.get(User, world.rep_west.id).nav_app == "kakao"
    g.pop("_login_user", None)
    assert _nav_default(client.get("/app/").get_data(as_text=True)) == "kakao"
    g.pop("_login_user", None)
    r = client.post("/people/me/nav-app", json={"nav_app": "waze"})  # as the apps send it
    assert r.status_code == 200 and r.get_json() == {"nav_app": "waze"}
    g.pop("_login_user", None)
    r = client.post("/people/me/nav-app", json={"nav_app": "carrier-pigeon"})
    assert r.status_code == 422
    assert db.session.get(User, world.rep_west.id).nav_app == "waze"
    g.pop("_login_user", None)
    client.post("/people/me/nav-app", data={"nav_app": ""})  # back to the language's default
    world.rep_west.locale = "ko"
    db.session.commit()
    g.pop("_login_user", None)
    assert _nav_default(client.get("/app/").get_data(as_text=True)) == "naver"
