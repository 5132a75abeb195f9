"""The one upload store: each kind of upload in its own folder, a retention rule per kind."""

from __future__ import annotations

import io
import os
import time

import pytest

from geocrm.territory_admin import transfer

DAY = 24 * 3600
CSV = ("External ID,Company,Address,Latitude,Longitude,Stage,Opening hours,Tags\n"
       "U1,Upload Oy,Mannerheimintie 1,60.17,24.94,lead,,\n")


def _age(path, seconds: float) -> None:
    """Make ``path`` look ``seconds`` old (its mtime), as a day passing would."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _upload_csv(client):
    data = {"file": (io.BytesIO(CSV.encode()), "accounts.csv"), "source": "erp"}
    return client.post("/imports/", data=data, content_type="multipart/form-data")


@pytest.fixture
def upload_root(app, tmp_path):
    """Uploads go to an instance folder of this test, not the shared one."""
    app.instance_path = str(tmp_path / "instance")
    return tmp_path / "instance" / "uploads"


def test_a_day_old_territory_upload_folder_does_not_break_csv_uploads(
        upload_root, client, auth, world):
    """Regression: the CSV store's cleanup walked into the territory folder (IsADirectoryError)."""
    token = transfer.save_upload("west.geojson", b'{"type": "FeatureCollection", "features": []}',
                                 world.manager)
    for path in upload_root.rglob("*"):
        _age(path, 2 * DAY)
    auth.login("manager@example.com")
    r = _upload_csv(client)
    assert r.status_code == 302, r.data[:300]
    assert client.get(r.headers["Location"]).status_code == 200
    # The territory store's own rule removed the aged territory upload when it next saved.
    transfer.save_upload("east.geojson", b'{"type": "FeatureCollection", "features": []}',
                         world.manager)
    assert not list(upload_root.rglob(f"{token}*"))


def test_each_kind_keeps_its_files_in_its_own_folder_and_only_ages_its_own(
        upload_root, client, auth, world):
    """A CSV upload and a territory upload live apart; a save purges only its kind's old files."""
    auth.login("manager@example.com")
    csv_url = _upload_csv(client).headers["Location"]
    terr_token = transfer.save_upload("a.geojson", b"{}", world.manager)
    kinds = sorted(p.name for p in upload_root.iterdir() if p.is_dir())
    assert kinds == ["imports", "territories"]
    assert [p.parent.name for p in upload_root.rglob(f"{terr_token}*")] == ["territories"] * 2
    # Age the CSV upload past its retention: a new territory upload leaves it alone ...
    for path in (upload_root / "imports").iterdir():
        _age(path, 2 * DAY)
    transfer.save_upload("b.geojson", b"{}", world.manager)
    assert client.get(csv_url).status_code == 200
    # ... and the next CSV upload removes it, so the old token now says it has expired.
    assert _upload_csv(client).status_code == 302
    assert client.get(csv_url).status_code == 404
    # A fresh territory upload is still there: retention counts age, not saves.
    path, meta = transfer.load_upload(terr_token, world.manager)
    assert path.exists() and meta["filename"] == "a.geojson"


def test_a_folder_or_stray_file_in_an_upload_folder_is_never_touched(upload_root, world):
    """Only the store's own token files are removed; a sub-folder or foreign file stays."""
    transfer.save_upload("a.geojson", b"{}", world.manager)
    folder = upload_root / "territories"
    (folder / "keep").mkdir()
    (folder / "README").write_text("not an upload")
    for path in folder.iterdir():
        _age(path, 3 * DAY)
    transfer.save_upload("b.geojson", b"{}", world.manager)
    names = sorted(p.name for p in folder.iterdir())
    assert "keep" in names and "README" in names and len(names) == 4


def test_files_of_the_old_one_folder_layout_age_out_too(upload_root, world):
    """A day-old CSV upload left at uploads/<token>.csv by the old store is removed; a new one
    and a foreign file stay."""
    upload_root.mkdir(parents=True)
    old, new = upload_root / f"{'a' * 32}.csv", upload_root / f"{'b' * 32}.json"
    foreign = upload_root / "notes.txt"
    for path in (old, new, foreign):
        path.write_text("x")
    _age(old, 2 * DAY)
    _age(foreign, 2 * DAY)
    transfer.save_upload("a.geojson", b"{}", world.manager)
    assert not old.exists() and new.exists() and foreign.exists()
