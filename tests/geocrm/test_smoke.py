"""The app builds and a user can sign in."""

from __future__ import annotations


def test_login_and_home(client, auth, world):
    """A manager signs in with the right password and lands on the home page."""
    r = auth.login("manager@example.com")
    assert r.status_code == 302
    r = client.get("/home")
    assert r.status_code == 200
    assert b"Territories" in r.data


def test_every_blueprint_static_file_a_template_names_is_served(app, client):
    """Each ``url_for('<blueprint>.static', filename=...)`` in the templates answers 200.

    A blueprint moved into a subpackage resolves ``static_folder`` from its new module, so
    its stylesheet silently 404s (the CRM maps then have no height); this pins the paths.
    """
    import re
    from pathlib import Path

    from flask import url_for

    templates = Path(__file__).resolve().parents[2] / "templates"
    named = set()
    for path in templates.rglob("*.html"):
        named |= set(re.findall(r"url_for\('(\w+)\.static', filename='([^']+)'\)",
                                path.read_text(encoding="utf-8")))
    assert {bp for bp, _ in named} >= {"crm", "planning"}
    with app.test_request_context():
        urls = [url_for(f"{bp}.static", filename=name) for bp, name in sorted(named)]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()
