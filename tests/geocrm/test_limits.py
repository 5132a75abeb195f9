"""Input that used to answer 500: ids beyond the database's integers, JSON nested thousands of
levels deep, and the field API's "task done" (issue 18). Every CSV the app writes is
formula-safe."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from werkzeug.routing import Rule

from geocrm.csvout import SafeWriter, csv_string, safe_cell
from geocrm.extensions import db
from geocrm.imports.results import ImportResult, Reject
from geocrm.limits import MAX_DB_ID, MAX_JSON_DEPTH, at_most_pattern, json_depth
from geocrm.models import Task, TaskStatus

HUGE_IDS = (MAX_DB_ID + 1, 2**63, 10**30)


_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _path(rule: Rule, huge: int) -> str | None:
    """The rule's URL with every int argument set to ``huge`` (None if it has none)."""
    if not any(m.group(1) == "int" for m in _ARG.finditer(rule.rule)):
        return None
    return _ARG.sub(lambda m: str(huge) if m.group(1) == "int" else "x", rule.rule)


@pytest.mark.parametrize("role", ["admin", "rep_west"])
def test_every_route_answers_404_for_ids_out_of_range(app, client, auth, world, role):
    """Sweep the URL map: an id past PostgreSQL's INTEGER is a 404 on both engines, never 500."""
    auth.login(getattr(world, role).email)
    checked = 0
    for rule in app.url_map.iter_rules():
        for huge in HUGE_IDS:
            path = _path(rule, huge)
            if path is None:
                continue
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                r = client.open(path, method=method, json={} if method != "GET" else None)
                assert r.status_code == 404, (method, path, r.status_code)
                checked += 1
    assert checked > 60  # the sweep really covered the app's id routes


def test_largest_id_still_matches_its_route(client, auth, world):
    auth.login(world.admin.email)
    r = client.get(f"/accounts/{MAX_DB_ID}")
    assert r.status_code == 404  # routed to the view, which finds no such account
    assert b"Not Found" in r.data or r.is_json or r.mimetype == "text/html"


def test_deeply_nested_json_is_a_400_not_a_500(client, auth, world):
    auth.login(world.rep_west.email)
    not_json = client.post("/api/v1/sync", data="{", content_type="application/json")
    assert not_json.status_code in (400, 422)
    body = "[" * 10_000 + "]" * 10_000
    r = client.post("/api/v1/sync", data=body, content_type="application/json")
    assert r.status_code == not_json.status_code  # the same answer as any body that is not JSON
    deep_ok = {"ops": []}
    assert client.post("/api/v1/sync", json=deep_ok).status_code == 200
    too_deep = '{"ops": ' + "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1) + "}"
    r = client.post("/api/v1/sync", data=too_deep, content_type="application/json")
    assert r.status_code == not_json.status_code


def test_id_pattern_matches_exactly_the_range():
    pattern = re.compile(at_most_pattern(MAX_DB_ID) + "$")
    for n in (0, 7, 10, 99, 2**31 - 1, 2**31 - 2, 2_000_000_000, 1_999_999_999, 999_999_999):
        assert pattern.match(str(n)), n
        assert pattern.match("00" + str(n)), n
    for n in (2**31, 2**31 + 10, 2_200_000_000, 3_000_000_000, 9_999_999_999, 10**30):
        assert not pattern.match(str(n)), n
    small = re.compile(at_most_pattern(305) + "$")
    assert [n for n in range(1000) if small.match(str(n))] == list(range(306))


def test_an_id_of_zero_is_no_url(app, client, auth, world):
    """0 matched the id pattern and reached views: a segment's edit page opened the new-segment
    form, a task's done and a territory's properties validated the body first (422)."""
    auth.login("admin@example.com")
    for method, url in (("GET", "/crm/segments/0/edit"), ("POST", "/api/v1/tasks/0/done"),
                        ("POST", "/territories/api/territories/0/properties"),
                        ("GET", "/accounts/000"), ("POST", "/people/0/active")):
        assert client.open(url, method=method, json={}).status_code == 404, url
    assert client.get(f"/accounts/{world.west_accounts[0].id:04d}").status_code == 200


def test_json_depth_counts_lists_and_objects():
    assert json_depth(3) == 0
    assert json_depth([]) == 1
    assert json_depth({"a": [{"b": 1}]}) == 3


def test_task_done_marks_the_task_done(client, auth, world):
    """It answered 500 on every call (the view took no task_id) and the task stayed open."""
    task = Task(title="Call back", account_id=world.west_accounts[0].id,
                assignee_id=world.rep_west.id, uuid=str(uuid.uuid4()))
    db.session.add(task)
    db.session.commit()
    auth.login(world.rep_west.email)
    r = client.post(f"/api/v1/tasks/{task.id}/done", json={})
    assert r.status_code == 200, r.data
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == TaskStatus.DONE
    assert client.post(f"/api/v1/tasks/{task.id}/done", json={}).status_code == 200  # idempotent
    auth.logout()
    auth.login(world.rep_east.email)
    assert client.post(f"/api/v1/tasks/{task.id}/done", json={}).status_code == 404


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)",
                                  "\tcmd", "\r=1"])
def test_formula_cells_are_defused(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["-12.5", "+358401234567", "Kahvila Sävy", "", "가게", "1e5"])
def test_data_cells_are_kept(text):
    assert safe_cell(text) == text


def test_every_writer_defuses(tmp_path):
    out = io.StringIO()
    SafeWriter(out).writerow(["=cmd", 3, None])
    assert out.getvalue() == "'=cmd,3,\r\n"
    text = csv_string(["a"], [["@x"]])
    assert list(csv.reader(io.StringIO(text))) == [["a"], ["'@x"]]


def test_import_reports_defuse_formulas():
    result = ImportResult(status="rejected", filename="f.csv", sha256="0")
    result.rejects.append(Reject(row=2, field="name", reason="bad", value="=WEBSERVICE(1)"))
    rows = list(csv.reader(io.StringIO(result.reject_report_csv())))
    assert rows[1][3] == "'=WEBSERVICE(1)"
