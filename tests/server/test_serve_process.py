"""``tidyllm serve`` as a process: its background worker, graceful stop, the bind warning,
and ``--workers 2``: metrics summed over the processes, a worker in each, a clean stop."""

from __future__ import annotations

import json
import re
import signal
import stat
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from server_helpers import TIDYLLM, server_env, start_server, stop_server

from corpus_paths import FED_PDF
from tidyllm.access import add_user, create_token
from tidyllm.dropzones import UnifiedDropZones
from tidyllm.session import UnifiedSessionManager

PROGRESS_BOUND = 120.0  # seconds with no state change before the test gives up


def test_the_background_worker_processes_a_dropped_file_and_sigterm_stops_cleanly(
    tmp_path, database_url, monkeypatch
):
    inbox = tmp_path / "inbox"
    config = tmp_path / "tidyllm.yaml"  # JSON is YAML
    config.write_text(json.dumps({"zones": [{"name": "inbox", "source": str(inbox)}]}))
    monkeypatch.setenv("TIDYLLM_CONFIG", str(config))
    server = start_server(tmp_path, database_url)  # the worker is on by default
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(server.data_dir))
    monkeypatch.setenv("TIDYLLM_DATABASE__URL", database_url)
    try:
        with UnifiedSessionManager() as sm:  # the server's settings: TIDYLLM_CONFIG, env
            note = tmp_path / "note.txt"
            note.write_text("Our fieldwork ended in March 2015.")
            UnifiedDropZones(sm).drop(note, zone="inbox")
            state, last_change, seen = None, time.monotonic(), None
            while state != "done":
                counts = UnifiedDropZones(sm).status("inbox")["inbox"]["counts"]
                state = "done" if counts.get("done") else None
                if counts != seen:
                    seen, last_change = counts, time.monotonic()
                assert time.monotonic() - last_change < PROGRESS_BOUND, (
                    f"no progress: {counts}\n{server.log.read_text()}"
                )
                assert server.process.poll() is None, server.log.read_text()
                time.sleep(0.3)
    finally:
        code = stop_server(server)
    assert code == 0, server.log.read_text()
    log = server.log.read_text()
    assert "Application shutdown complete" in log
    assert "Traceback" not in log


def test_binding_beyond_loopback_without_tls_warns(tmp_path, database_url):
    process = subprocess.Popen(
        [TIDYLLM, "serve", "--host", "0.0.0.0", "--port", "0", "--no-worker"],
        env=server_env(tmp_path / "data", database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = process.stdout.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(120)
    assert "warning" in first and "without TLS" in first, first


@pytest.mark.parametrize("args", [["--ssl-certfile", "cert.pem"], ["--port", "70000"]])
def test_bad_serve_options_are_one_clear_line(tmp_path, database_url, args):
    done = subprocess.run(
        [TIDYLLM, "serve", *args],
        env=server_env(tmp_path / "data", database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "ssl" in done.stderr.lower() or "port" in done.stderr.lower(), done.stderr


# --- several server processes ---------------------------------------------------------------

ME = "/api/v1/me"


def _per_process(shared: Path, route: str) -> dict[int, float]:
    """GET requests to ``route`` counted by each server process (its own counter file)."""
    counts = {}
    for path in shared.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        counts[pid] = sum(
            s.value
            for metric in MultiProcessCollector.merge([str(path)])
            for s in metric.samples
            if s.name == "tidyllm_http_requests_total"
            and s.labels.get("route") == route
            and s.labels.get("method") == "GET"
        )
    return counts


def _me_requests(server_url: str, token: str, n: int) -> None:
    """``n`` requests, each on a new connection (so the kernel spreads them over processes)."""

    def one(_: int) -> int:
        return httpx.get(
            server_url + ME, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ).status_code

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(one, range(n))) == {200}


def test_workers_2_sum_their_metrics_and_stop_releasing_their_files(
    tmp_path, database_url, monkeypatch
):
    """Two server processes: every scrape, whichever process answers it, has the requests
    of both; each process runs a drop-zone worker, and SIGTERM stops both cleanly with no
    file left leased; the shared metrics directory is removed."""
    inbox = tmp_path / "inbox"
    config = tmp_path / "tidyllm.yaml"
    config.write_text(
        json.dumps({"zones": [{"name": "inbox", "source": str(inbox), "quiet_period": 0.0}]})
    )
    monkeypatch.setenv("TIDYLLM_CONFIG", str(config))
    server = start_server(tmp_path, database_url, "--workers", "2")
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(server.data_dir))
    monkeypatch.setenv("TIDYLLM_DATABASE__URL", database_url)
    try:
        found = re.search(r"summed in (\S+)", server.log.read_text())
        assert found, server.log.read_text()
        shared = Path(found.group(1))
        assert shared.is_dir() and stat.S_IMODE(shared.stat().st_mode) == 0o700
        with UnifiedSessionManager() as sm:
            add_user(sm, "ada", "admin", "correct horse battery staple")
            token = create_token(sm, "ada", "test").secret

            made = 0  # requests until both processes have answered some (a few batches)
            while made < 400:
                _me_requests(server.url, token, 20)
                made += 20
                if len([c for c in _per_process(shared, ME).values() if c]) == 2:
                    break
            per_process = _per_process(shared, ME)
            assert len([c for c in per_process.values() if c]) == 2, per_process
            assert sum(per_process.values()) == made

            scraped, scrapes = [], 0  # until each process has answered a scrape
            while scrapes < 60:
                with server.client(token) as http:
                    response = http.get("/metrics")
                assert response.status_code == 200, response.text
                scrapes += 1
                samples = {
                    (s.name, tuple(sorted(s.labels.items()))): s.value
                    for family in text_string_to_metric_families(response.text)
                    for s in family.samples
                }
                me = (
                    "tidyllm_http_requests_total",
                    (("method", "GET"), ("route", ME), ("status", "200")),
                )
                assert samples[me] == made  # the same total, whichever process answered
                latency = (
                    "tidyllm_http_request_duration_seconds_count",
                    (("method", "GET"), ("route", ME)),
                )
                assert samples[latency] == made
                assert samples[("tidyllm_ledger_up", ())] == 1
                metrics = (
                    "tidyllm_http_requests_total",
                    (("method", "GET"), ("route", "/metrics"), ("status", "200")),
                )
                scraped.append(samples.get(metrics, 0.0))
                if (
                    scrapes >= 5
                    and len([c for c in _per_process(shared, "/metrics").values() if c]) == 2
                ):
                    break
            assert scraped == sorted(scraped), scraped  # monotonic across processes
            assert len([c for c in _per_process(shared, "/metrics").values() if c]) == 2

            # the drop-zone workers: one per process, claiming with SKIP LOCKED
            inbox_files = [tmp_path / f"note-{i}.txt" for i in range(6)]
            for i, note in enumerate(inbox_files):
                note.write_text(f"Note {i}: our fieldwork ended in March 2015.")
                UnifiedDropZones(sm).drop(note, zone="inbox")
            UnifiedDropZones(sm).drop(FED_PDF, zone="inbox")
            deadline = time.monotonic() + PROGRESS_BOUND
            while not UnifiedDropZones(sm).status("inbox")["inbox"]["counts"].get("processing"):
                assert time.monotonic() < deadline, server.log.read_text()
                time.sleep(0.1)
    finally:
        code = stop_server(server)  # while a file is being processed
    log = server.log.read_text()
    assert code == 0, log
    assert log.count("Application shutdown complete") == 2, log
    assert "Traceback" not in log
    assert not shared.exists()
    with UnifiedSessionManager() as sm, sm.connection() as conn:
        leased = conn.execute(
            "SELECT count(*) FROM files WHERE state = 'processing' OR lease_owner IS NOT NULL"
        ).fetchone()[0]
        states = dict(conn.execute("SELECT state, count(*) FROM files GROUP BY state").fetchall())
        claims = conn.execute(
            "SELECT file_id, count(*) FILTER (WHERE kind = 'claimed'), "
            "count(*) FILTER (WHERE kind = 'released') FROM events GROUP BY file_id"
        ).fetchall()
        owners = {
            w for (w,) in conn.execute("SELECT DISTINCT worker FROM events WHERE kind = 'claimed'")
        }
    assert leased == 0, states
    assert set(states) <= {"done", "pending"}, states  # finished within the grace, or released
    assert sum(states.values()) == 7
    for file_id, claimed, released in claims:  # one holder at a time; every lease given back
        assert claimed - released in (0, 1), (file_id, claimed, released)
    print(f"claims by {len(owners)} worker(s); states after stop: {states}")
