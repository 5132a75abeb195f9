"""The admin's region pages in a Korean and a Japanese browser: the page, the refused upload
(naming the file) and the load job's result in the reader's language."""

from __future__ import annotations

import io

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
