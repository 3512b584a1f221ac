"""Drop zones over HTTP against a real ``tidyllm serve``: list with counts, history, retry.

Files are dropped into the domains' ingest zones and processed by a worker in the test
process (the server runs with ``--no-worker``), on the server's database and data folder.
"""

from __future__ import annotations

import io

import pytest
from server_helpers import error_of

from tidyllm.access import add_grant, add_user, create_token, read_audit
from tidyllm.dropzones import UnifiedDropZones
from tidyllm.knowledge import create_domain

PASSWORD = "correct horse battery staple"
GOOD = b"The Federal Reserve Bank of Boston led the model validation in 2015.\n"
BROKEN = b"%PDF-1.7\nthis is not really a PDF at all\n"


def process(sm, zone: str, files: dict[str, bytes]) -> dict[str, int]:
    """Drop and process ``files``; their ledger ids by name."""
    with UnifiedDropZones(sm) as dz:
        for name, data in files.items():
            dz.drop_data(io.BytesIO(data), zone=zone, name=name)
        dz.drain([zone], track=False)
        return {name: dz.ledger.by_key(name, zone)[-1].id for name in files}


@pytest.fixture(scope="module")
def setup(server_sm) -> dict:
    """ada (admin), eve (editor of fed), vic (viewer of fed), ned (editor, no grant);
    zone ingest-fed holds a done and a failed file, ingest-hidden a done and a failed one."""
    tokens = {}
    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer"), ("ned", "editor")):
        add_user(server_sm, name, role, PASSWORD)
        tokens[name] = create_token(server_sm, name, "test").secret
    for name in ("fed", "hidden"):
        create_domain(server_sm, name)
    add_grant(server_sm, "fed", user="eve", role="editor")
    add_grant(server_sm, "fed", user="vic", role="viewer")
    ids = process(server_sm, "ingest-fed", {"fed.txt": GOOD, "broken.pdf": BROKEN})
    hidden = process(server_sm, "ingest-hidden", {"memo.txt": GOOD, "bad.pdf": BROKEN})
    return {"tokens": tokens, "fed": ids, "hidden": hidden}


def test_an_admin_sees_every_zone_with_counts_by_state(server, setup):
    with server.client(setup["tokens"]["ada"]) as http:
        response = http.get("/api/v1/zones")
    assert response.status_code == 200, response.text
    zones = {z["name"]: z for z in response.json()}
    assert {"ingest-fed", "ingest-hidden"} <= set(zones)
    for name, domain in (("ingest-fed", "fed"), ("ingest-hidden", "hidden")):
        assert zones[name]["domain"] == domain and zones[name]["pipeline"] == "index"
        assert zones[name]["counts"] == {"done": 1, "failed": 1}
        assert zones[name]["oldest_pending"] is None


def test_others_see_only_the_zones_of_their_granted_domains(server, setup):
    for user, expected in (("vic", ["ingest-fed"]), ("eve", ["ingest-fed"]), ("ned", [])):
        with server.client(setup["tokens"][user]) as http:
            response = http.get("/api/v1/zones")
        assert response.status_code == 200, response.text
        assert [z["name"] for z in response.json()] == expected, user


def test_a_viewer_reads_a_files_history(server, setup):
    file_id = setup["fed"]["broken.pdf"]
    with server.client(setup["tokens"]["vic"]) as http:
        response = http.get(f"/api/v1/zones/ingest-fed/files/{file_id}/history")
    assert response.status_code == 200, response.text
    [entry] = response.json()
    assert entry["file"]["id"] == file_id and entry["file"]["key"] == "broken.pdf"
    assert entry["file"]["state"] == "failed" and entry["file"]["error"]["code"]
    kinds = [e["kind"] for e in entry["events"]]
    assert kinds[0] == "detected" and "claimed" in kinds and kinds[-1] == "failed"


def test_a_zone_not_granted_answers_like_a_missing_zone(server, setup):
    hidden_id = setup["hidden"]["bad.pdf"]
    with server.client(setup["tokens"]["vic"]) as http:
        for action, method in (("history", "GET"), ("retry", "POST")):
            hidden = http.request(method, f"/api/v1/zones/ingest-hidden/files/{hidden_id}/{action}")
            missing = http.request(
                method, f"/api/v1/zones/ingest-hiddem/files/{hidden_id}/{action}"
            )
            assert hidden.status_code == missing.status_code == 404, hidden.text
            a, b = error_of(hidden), error_of(missing)
            assert a["code"] == b["code"] == "zone_not_found"
            assert a["message"].replace("hidden", "X") == b["message"].replace("hiddem", "X")
            assert "ingest-fed" not in b["message"] + b["hint"]  # no list of zones to a user


def test_a_file_of_another_zone_answers_like_a_missing_file(server, setup):
    hidden_id = setup["hidden"]["bad.pdf"]
    for user in ("eve", "ada"):
        with server.client(setup["tokens"][user]) as http:
            for action, method in (("history", "GET"), ("retry", "POST")):
                other = http.request(method, f"/api/v1/zones/ingest-fed/files/{hidden_id}/{action}")
                missing = http.request(method, f"/api/v1/zones/ingest-fed/files/987654/{action}")
                assert other.status_code == missing.status_code == 404, other.text
                a, b = error_of(other), error_of(missing)
                assert a["code"] == b["code"] == "ledger_file_not_found"
                assert a["message"].replace(str(hidden_id), "N") == b["message"].replace(
                    "987654", "N"
                )


@pytest.mark.parametrize("raw_id", ["abc", "-1", "0", "2.5", str(2**63), "9" * 40, "%20"])
def test_hostile_file_ids_are_422_never_500(server, setup, raw_id):
    with server.client(setup["tokens"]["ada"]) as http:
        for action, method in (("history", "GET"), ("retry", "POST")):
            response = http.request(method, f"/api/v1/zones/ingest-fed/files/{raw_id}/{action}")
            assert response.status_code == 422, (raw_id, response.text)
            assert error_of(response)["code"] == "invalid_request"


@pytest.mark.parametrize(
    "zone", ["..%2F..%2Fetc", "ingest-fed%00", "a" * 300, "INGEST-FED", "%E2%80%AEdef-tsegni"]
)
def test_hostile_zone_names_are_clear_errors(server, setup, zone):
    file_id = setup["fed"]["fed.txt"]
    for user in ("ada", "vic"):
        with server.client(setup["tokens"][user]) as http:
            response = http.get(f"/api/v1/zones/{zone}/files/{file_id}/history")
        assert response.status_code in (404, 422), response.text
        assert error_of(response)["message"]


def test_retry_needs_the_editor_role_in_the_zones_domain(server, setup):
    file_id = setup["fed"]["broken.pdf"]
    with server.client(setup["tokens"]["vic"]) as http:
        response = http.post(f"/api/v1/zones/ingest-fed/files/{file_id}/retry")
    assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    with server.client(setup["tokens"]["ned"]) as http:
        response = http.post(f"/api/v1/zones/ingest-fed/files/{file_id}/retry")
    assert response.status_code == 404 and error_of(response)["code"] == "zone_not_found"
    with server.client(setup["tokens"]["eve"]) as http:
        done = http.post(f"/api/v1/zones/ingest-fed/files/{setup['fed']['fed.txt']}/retry")
    assert done.status_code == 409 and error_of(done)["code"] == "file_state_conflict"


def test_an_editor_retries_a_failed_file_and_it_is_audited(server, server_sm, setup):
    file_id = setup["fed"]["broken.pdf"]
    with server.client(setup["tokens"]["eve"]) as http:
        response = http.post(f"/api/v1/zones/ingest-fed/files/{file_id}/retry")
        assert response.status_code == 202, response.text
        [new_id] = response.json()["file_ids"]
        again = http.post(f"/api/v1/zones/ingest-fed/files/{file_id}/retry")
        assert again.status_code == 409  # moved back already: nothing left to retry
        trail = http.get(f"/api/v1/zones/ingest-fed/files/{file_id}/history").json()
        assert trail[0]["events"][-1]["kind"] == "retried"
        fresh = http.get(f"/api/v1/zones/ingest-fed/files/{new_id}/history").json()
        assert fresh[0]["file"]["state"] == "pending"
        counts = {z["name"]: z["counts"] for z in http.get("/api/v1/zones").json()}
    assert counts["ingest-fed"] == {"done": 1, "failed": 1, "pending": 1}
    events = [e for e in read_audit(server_sm, user="eve") if e.action == "file.retry"]
    assert [e.target for e in events] == [f"file:{file_id}"]
    assert events[0].detail["new_file_ids"] == [new_id]


def test_an_admin_retries_in_any_zone(server, setup):
    file_id = setup["hidden"]["bad.pdf"]
    with server.client(setup["tokens"]["ada"]) as http:
        response = http.post(f"/api/v1/zones/ingest-hidden/files/{file_id}/retry")
    assert response.status_code == 202, response.text
    assert len(response.json()["file_ids"]) == 1


def test_the_schema_documents_every_zone_route(server):
    with server.client() as http:
        paths = http.get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/zones"]) == {"get"}
    assert set(paths["/api/v1/zones/{zone}/files/{file_id}/history"]) == {"get"}
    assert set(paths["/api/v1/zones/{zone}/files/{file_id}/retry"]) == {"post"}
