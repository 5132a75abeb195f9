"""The duplicates list and the merge page in a Korean and a Japanese browser: headings, the
reasons a pair was found, field and history labels in the reader's language; names escaped."""

from __future__ import annotations

from tests.geocrm.crm.test_crm_merge import twins  # noqa: F401
from tests.geocrm.test_i18n import compiled_catalogues  # noqa: F401

KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
JA = {"Accept-Language": "ja-JP,ja;q=0.9"}


def test_korean_browser_sees_korean_duplicates_and_merge(twins, client, auth):  # noqa: F811
    """A manager with Accept-Language: ko sees the pair and its reasons, then the merge page."""
    world, w1, copy = twins
    auth.login("manager@example.com")
    page = client.get("/crm/duplicates", headers=KO).get_data(as_text=True)
    assert '<html lang="ko">' in page
    assert "<h1>중복 의심 거래처</h1>" in page
    assert "같은 전화번호" in page and "m 떨어짐" in page and "검토 후 병합" in page
    assert "same phone" not in page and "Review and merge" not in page
    merge = client.get(f"/crm/merge?survivor={w1.id}&merged={copy.id}",
                       headers=KO).get_data(as_text=True)
    assert "<h1>거래처 두 곳 병합</h1>" in merge
    assert "위치 (핀)" in merge and "활동 기록" in merge and "유지되는 이력" in merge
    assert "History that will be kept" not in merge and "interactions" not in merge


def test_japanese_browser_sees_japanese_merge_page(twins, client, auth):  # noqa: F811
    """The same merge page with Accept-Language: ja is in Japanese."""
    world, w1, copy = twins
    auth.login("manager@example.com")
    merge = client.get(f"/crm/merge?survivor={w1.id}&merged={copy.id}",
                       headers=JA).get_data(as_text=True)
    assert "<h1>2件の顧客を統合</h1>" in merge and "監査証跡" in merge and "商談" in merge
    page = client.get("/crm/duplicates", headers=JA).get_data(as_text=True)
    assert "同じ電話番号" in page and "確認して統合" in page
