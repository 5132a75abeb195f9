"""The admin's region pages in a Korean and a Japanese browser: the page, the refused upload
(naming the file) and the load job's result in the reader's language."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient

from geocrm import jobs
from geocrm.models.planning import JobStatus
from tests.conftest import AuthActions
from tests.factories import World
from tests.geocrm.region.test_region import TOWN, app_config, instance  # noqa: F401
from tests.geocrm.test_i18n import compiled_catalogues  # noqa: F401

KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
JA = {"Accept-Language": "ja-JP,ja;q=0.9"}


def test_korean_admin_sees_korean_region_pages(
    instance, world: World, client: FlaskClient, auth: AuthActions  # noqa: F811
) -> None:
    """Accept-Language: ko gets the region page, the upload error and the job page in Korean."""
    auth.login(world.admin.email)
    page = client.get("/region/", headers=KO).get_data(as_text=True)
    assert '<html lang="ko">' in page
    assert "불러온 지역이 없습니다" in page and "지도 데이터 불러오기" in page
    assert "벡터 배경 지도가 없습니다" in page  # no basemap yet: the raster URL, if any
    assert "No region is loaded" not in page and "Load an extract" not in page
    bad = client.post("/region/load", data={"extract": (io.BytesIO(b"x"), "shops<b>.csv")},
                      content_type="multipart/form-data", headers=KO)
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "&#39;shops&lt;b&gt;.csv&#39;은(는) .osm.pbf 또는 .osm 파일이 아닙니다" in text
    with TOWN.open("rb") as f:
        resp = client.post("/region/load", data={"extract": (f, "river_town.osm")},
                           content_type="multipart/form-data", headers=KO)
    job_id = int(resp.location.rstrip("/").split("/")[-1])
    assert jobs.wait_for_job(job_id, timeout=60).status == JobStatus.DONE
    done = client.get(resp.location, headers=KO).get_data(as_text=True)
    assert "river_town 불러옴: 차량 통행 도로 4개" in done
    ja = client.get("/region/", headers=JA).get_data(as_text=True)
    assert "読み込み済み:<strong>river_town</strong>" in ja
    # the basemap's status: built when, size, zoom range and area, in Japanese
    status = ja.split('id="basemap-status"')[1].split("</section>")[0]
    assert "独自のベクター背景地図" in status and "に作成" in status and "サイズ:" in status
    assert re.search(r"ズームレベル \d+～\d+", status) and "サイズ: 0 " not in status
    assert re.search(r"範囲: [\d.,]+\s?k?m × [\d.,]+\s?k?m（経度 23\.9", status)
    assert "Zoom" not in status and "Size" not in status and "Area" not in status
    ko = client.get("/region/", headers=KO).get_data(as_text=True)
    assert "확대 수준" in ko and "생성)" in ko and "Basemap" not in ko


def test_load_job_progress_in_the_readers_language(app) -> None:  # noqa: F811
    """The job's two progress messages (as geocrm.region.jobs writes them) and its states
    read in Korean and Japanese on the job page, the values kept."""
    from flask_babel import refresh

    from geocrm.region.jobs import reading_message, saved_message
    from geocrm.region.views import region_progress

    meta = {"ways": 412, "road_km": 38.5, "basemap": {"tiles": 96, "bytes": 2_400_000},
            "addresses": {"addresses": 1500}}
    for lang, words in (("ko", ("헬싱키", "도로 412개", "2.4 MB", "시작")),
                        ("ja", ("ヘルシンキ", "道路412本", "2.4 MB", "開始"))):
        with app.test_request_context(headers={"Accept-Language": lang}):
            refresh()
            said = [region_progress(m) for m in (
                reading_message("헬싱키" if lang == "ko" else "ヘルシンキ"), saved_message(meta),
                "started", "queued")]
        assert words[0] in said[0] and words[1] in said[1] and words[2] in said[1]
        assert words[3] in said[2] and said[3] != "queued"
        assert not any("road" in s or "basemap" in s for s in said), said
