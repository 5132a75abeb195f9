"""Every page in Korean and Japanese: sign in as each role, follow every link the pages offer
(same site, GET, HTML), and fail when the text a person sees still holds an English message of
the catalogues. A page that forgets ``_()``, or a message without a translation, shows the
English source, which is exactly what this looks for.

The detector itself is tested on a known English sample first, so the crawl cannot pass by
finding nothing.
"""

from __future__ import annotations

import io
import re
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from geocrm.extensions import db
from geocrm.field.sync import MAX_BATCH
from geocrm.planning import services
from tests.conftest import PASSWORD
from tests.factories import World
from tests.geocrm.planning.test_planning import app_config, run_planning  # noqa: F401
from tests.geocrm.test_i18n import compiled_catalogues  # noqa: F401

TRANSLATIONS = Path(__file__).resolve().parents[2] / "geocrm" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}|<[^>]+>")
#: Pages a crawl must not take: they change state on GET, stream files, or are the API.
SKIP = re.compile(r"^/(logout|api/|static/|app/i18n|sw\.js)|\.(csv|ics|json|png|js|css|xlsx)$"
                  r"|/(download|export)")
MAX_PAGES = 120
CSV = ("name,street,city,lat,lon,stage\n"
       "카페 소담,테헤란로 1,서울,37.5,127.03,customer\n"
       "Kahvila Uusi,Katu 2,Helsinki,60.17,24.93,lead\n"
       "Bad Row,Katu 3,Helsinki,not-a-number,24.9,lead\n")


class _Text(HTMLParser):
    """What a person reads on a page: text outside scripts and styles, and the words of
    title/aria-label/placeholder/alt attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1
        found = dict(attrs)
        for name in ("title", "aria-label", "placeholder", "alt"):
            if found.get(name):
                self.parts.append(str(found[name]))
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(" ".join(data.split()))


def page_text(html: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts), parser.links


def english_fragments(locale: str) -> list[str]:
    """Pieces of English every translated message would show if left untranslated: the
    literal runs between placeholders and tags, of two words or more, that differ from the
    translation (a brand name or a code stays as it is in every language)."""
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    out: set[str] = set()
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            if msgid in strings:
                continue
            for piece in PLACEHOLDER.split(msgid):
                piece = " ".join(piece.replace("%%", "%").split()).strip(" .,:;()—-–·")
                if len(piece.split()) >= 2 and re.search(r"[a-z]{3}", piece):
                    out.add(piece)
    return sorted(out, key=len, reverse=True)


def untranslated(text: str, fragments: list[str]) -> list[str]:
    """The English fragments found in ``text`` (whole words only)."""
    return [f for f in fragments
            if re.search(r"(?<![A-Za-z])" + re.escape(f) + r"(?![A-Za-z])", text)]


@pytest.mark.parametrize("locale", ["ko", "ja"])
def test_the_detector_catches_a_known_english_sample(locale: str) -> None:
    """An English sentence of the catalogue is found; its translation is not."""
    fragments = english_fragments(locale)
    assert len(fragments) > 300
    text, _ = page_text("<main><h2>Recent imports</h2><p>No imports yet.</p>"
                        "<script>var x = 'Recent imports';</script></main>")
    assert set(untranslated(text, fragments)) >= {"Recent imports", "No imports yet"}
    korean = "<h2>최근 가져오기</h2><p>아직 가져오기가 없습니다.</p>"
    japanese = "<h2>最近の取り込み</h2><p>まだ取り込みはありません。</p>"
    assert untranslated(page_text(korean if locale == "ko" else japanese)[0], fragments) == []


def crawl(client: FlaskClient, start: list[str], headers: dict[str, str]) -> dict[str, str]:
    """Every same-site HTML page reachable from ``start`` (GET), its text by path."""
    seen: dict[str, str] = {}
    queue = deque(start)
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        path = urldefrag(url)[0]
        parts = urlsplit(path)
        if (parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path)
                or "format=" in parts.query):
            continue
        key = parts.path + ("?" + parts.query if parts.query else "")
        if key in seen:
            continue
        response = client.get(key, headers=headers)
        html = response.get_data(as_text=True)
        response.close()
        if response.status_code != 200 or not response.mimetype.startswith("text/html"):
            seen[key] = ""
            continue
        text, links = page_text(html)
        lang = re.search(r'<html lang="([^"]+)"', html)
        seen[key] = text if lang and lang.group(1) == headers["Accept-Language"] else "<lang>"
        for link in links:
            target = urljoin(key, link)
            if urlsplit(target).netloc in ("", "localhost"):
                queue.append(urlsplit(target)._replace(scheme="", netloc="").geturl())
    return seen


@pytest.mark.parametrize("locale", ["ko", "ja"])
def test_every_page_every_role_is_translated(
    app: Flask, world: World, client: FlaskClient, locale: str, engine_name: str
) -> None:
    """Sign in as admin, manager, planner and rep; crawl from the home page (and the pages
    with a record: a plan run, a rep's day, an account, an upload) with a Korean/Japanese
    browser."""
    if engine_name != "sqlite":
        pytest.skip("the crawl checks the pages' words; the engines are covered elsewhere")
    run = run_planning(world, territory_ids=(world.west.id, world.east.id))
    services.publish(run)
    db.session.commit()
    plan_id = run.plans[0].id
    account_id = world.west_accounts[0].id
    fragments = english_fragments(locale)
    headers = {"Accept-Language": locale}
    problems: dict[str, list[str]] = {}
    pages = 0
    for user in (world.admin, world.manager, world.planner, world.rep_west):
        client.post("/login", data={"email": user.email, "password": PASSWORD},
                    headers=headers)
        start = ["/home", f"/planning/runs/{run.id}", f"/planning/plans/{plan_id}",
                 f"/accounts/{account_id}", "/imports/", "/app/"]
        if user is world.admin:  # an upload's mapping page, with its preview of a bad row
            upload = client.post("/imports/", headers=headers, data={
                "file": (io.BytesIO(CSV.encode("cp949")), "거래처.csv"), "source": "erp",
                "encoding": ""}, content_type="multipart/form-data")
            assert upload.status_code == 302, upload.get_data(as_text=True)[:300]
            start.append(upload.location)
        found = crawl(client, start, headers)
        for path, text in found.items():
            if not text:
                continue
            pages += 1
            bad = ["<html lang> is not " + locale] if text == "<lang>" else untranslated(
                text, fragments)
            if bad:
                problems[f"{user.role.value} {path}"] = bad[:5]
        client.post("/logout", headers=headers)
    assert pages > 40, pages
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in sorted(problems.items()))


@pytest.mark.parametrize("locale", ["ko", "ja"])
def test_error_reasons_are_translated(
    app: Flask, world: World, client: FlaskClient, locale: str, engine_name: str
) -> None:
    """What a crawl cannot reach: the reasons of refused writes (a territory without a name,
    a split line that misses, an unknown territory; the field app's bad sync batches) come
    back in the reader's language, by the same detector."""
    if engine_name != "sqlite":
        pytest.skip("the errors' words; the engines are covered elsewhere")
    fragments = english_fragments(locale)
    headers = {"Accept-Language": locale, "Accept": "application/json"}
    square = {"type": "Polygon", "coordinates": [[[24.95, 60.18], [24.99, 60.18], [24.99, 60.19],
                                                  [24.95, 60.19], [24.95, 60.18]]]}
    miss = {"type": "LineString", "coordinates": [[24.0, 60.0], [24.001, 60.001]]}
    said: list[str] = []

    def post(url: str, body: object) -> None:
        r = client.post(url, json=body, headers=headers)
        assert 400 <= r.status_code < 500, (url, r.status_code)
        said.append(str(r.get_json().get("detail")))

    client.post("/login", data={"email": world.manager.email, "password": PASSWORD})
    post("/territories/api/territories", {"name": "", "geometry": square})
    post(f"/territories/api/territories/{world.west.id}/split", {"cutter": miss})
    post("/territories/api/territories/99999/delete", {})
    client.post("/logout")
    client.post("/login", data={"email": world.rep_west.email, "password": PASSWORD})
    post("/api/v1/sync", {"ops": "everything"})
    post("/api/v1/sync", {"ops": [{}] * (MAX_BATCH + 1)})
    assert len(said) == 5 and all(said), said
    assert {s: untranslated(s, fragments) for s in said if untranslated(s, fragments)} == {}
