"""``tidyllm serve`` as a process: its background worker, graceful stop, the bind warning."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from server_helpers import TIDYLLM, server_env, start_server, stop_server

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
