"""Streamed uploads over a real ``tidyllm serve`` process: limits, names, types, nothing lost."""

from __future__ import annotations

import io
import os
import signal
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_helpers import Server, error_of, start_server, stop_server

from corpus_paths import FED_PDF
from tidyllm.access import add_grant, add_user, create_token, read_audit
from tidyllm.dropzones import UnifiedDropZones
from tidyllm.dropzones.detect import STALE_TMP_SECONDS
from tidyllm.errors import SettingsError
from tidyllm.knowledge import create_domain
from tidyllm.settings import load_settings

LIMIT = 4096
IDLE = 3  # server.upload_idle_seconds of the small server
PASSWORD = "correct horse battery staple"
PROGRESS_BOUND = 180.0  # seconds with no state change before a poll gives up

TEXT = b"Our fieldwork ended in March 2015.\n"


def start_with(
    tmp: Path,
    database_url: str,
    *args: str,
    limit: int | None = None,
    idle: float | None = None,
) -> Server:
    """A server, with ``server.max_upload_bytes`` and ``server.upload_idle_seconds`` set
    through the environment if given."""
    wanted = {
        "TIDYLLM_SERVER__MAX_UPLOAD_BYTES": limit,
        "TIDYLLM_SERVER__UPLOAD_IDLE_SECONDS": idle,
    }
    saved = {name: os.environ.get(name) for name in wanted}
    for name, value in wanted.items():
        if value is not None:
            os.environ[name] = str(value)
    try:
        return start_server(tmp, database_url, *args)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def people(sm, domains: tuple[str, ...]) -> dict[str, str]:
    """ada admin; eve editor granted editor on the first domain; vic viewer granted viewer."""
    for name in domains:
        create_domain(sm, name)
    out = {}
    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer")):
        add_user(sm, name, role, PASSWORD)
        out[name] = create_token(sm, name, "test").secret
    add_grant(sm, domains[0], user="eve", role="editor")
    add_grant(sm, domains[0], user="vic", role="viewer")
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory, module_database) -> Iterator[Server]:
    """A server without a worker, a 4096-byte upload limit and a short upload idle time."""
    running = start_with(
        tmp_path_factory.mktemp("small"), module_database, "--no-worker", limit=LIMIT, idle=IDLE
    )
    try:
        yield running
    finally:
        stop_server(running)


@pytest.fixture(scope="module")
def small_sm(small):
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(data_dir=small.data_dir, database={"url": small.database_url}) as sm:
        yield sm


@pytest.fixture(scope="module")
def tokens(small_sm) -> dict[str, str]:
    return people(small_sm, ("up", "hidden"))


def incoming(server: Server, domain: str) -> list[str]:
    """Every entry under the ingest zone's incoming/ folder, temp files included."""
    root = server.data_dir / "ingest" / domain / "incoming"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def ledger_rows(sm, domain: str) -> int:
    with sm.connection() as conn:
        return conn.execute(
            "SELECT count(*) FROM files WHERE zone = %s", (f"ingest-{domain}",)
        ).fetchone()[0]


def ingest_store(sm, domain: str):
    """The object store of the domain's ingest zone (what the ledger's objects live in)."""
    from tidyllm.dropzones.api import ingest_zone_settings

    return sm.object_store_for(ingest_zone_settings(sm, domain).source)


def post_files(server: Server, token: str, domain: str, files, **kw) -> httpx.Response:
    with server.client(token) as http:
        return http.post(f"/api/v1/domains/{domain}/uploads", files=files, **kw)


def assert_alive(server: Server) -> None:
    assert httpx.get(server.url + "/healthz", timeout=30).status_code == 200
    assert server.process.poll() is None


def test_an_upload_is_stored_in_the_ledger_and_its_state_readable(small, small_sm, tokens):
    response = post_files(small, tokens["eve"], "up", {"file": ("note.txt", TEXT, "text/plain")})
    assert response.status_code == 201, response.text
    (stored,) = response.json()["files"]
    assert stored["name"] == "note.txt" and stored["size"] == len(TEXT)
    assert stored["content_type"] == "text/plain"
    assert incoming(small, "up") == ["upload/note.txt"]
    assert (small.data_dir / "ingest/up/incoming/upload/note.txt").read_bytes() == TEXT
    with small.client(tokens["vic"]) as http:
        state = http.get(f"/api/v1/uploads/{stored['id']}")
    assert state.status_code == 200, state.text
    body = state.json()
    assert body["state"] == "pending" and body["domain"] == "up" and body["name"] == "note.txt"
    assert [e["kind"] for e in body["events"]] == ["detected"]
    events = [e for e in read_audit(small_sm) if e.action == "upload.store"]
    assert events and events[-1].target == "domain:up"


def test_several_files_in_one_request_each_get_a_ledger_id(small, tokens):
    files = [("file", ("a.md", b"# A\n", "text/markdown")), ("file", ("b.csv", b"x,y\n1,2\n", ""))]
    response = post_files(small, tokens["ada"], "up", files)
    assert response.status_code == 201, response.text
    ids = [f["id"] for f in response.json()["files"]]
    assert len(set(ids)) == 2
    assert {"upload/a.md", "upload/b.csv"} <= set(incoming(small, "up"))


@pytest.mark.parametrize("size", [LIMIT, LIMIT + 1, 0, 8 * 1024 * 1024])
def test_the_size_limit_holds_to_the_byte_and_empty_files_are_refused(
    small, small_sm, tokens, size
):
    name = f"size-{size}.txt"
    before = ledger_rows(small_sm, "up")
    response = post_files(small, tokens["eve"], "up", {"file": (name, b"a" * size, "text/plain")})
    if size == LIMIT:
        assert response.status_code == 201, response.text
        assert response.json()["files"][0]["size"] == LIMIT
        assert ledger_rows(small_sm, "up") == before + 1
    else:
        assert response.status_code == (413 if size else 400), response.text
        assert error_of(response)["message"]
        assert f"upload/{name}" not in incoming(small, "up")
        assert not [p for p in incoming(small, "up") if ".tidyllm-tmp" in p]
        assert ledger_rows(small_sm, "up") == before
        refused = [e for e in read_audit(small_sm) if e.action == "upload.refuse"]
        assert refused and refused[-1].target == "domain:up"
    assert_alive(small)


def multipart(filename: str, content: bytes) -> bytes:
    """One file part with the name's exact UTF-8 bytes in its header."""
    disposition = f'form-data; name="file"; filename="{filename}"'.encode()
    return (
        b"--b0undary\r\nContent-Disposition: " + disposition + b"\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--b0undary--\r\n"
    )


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("inside.txt", "not a pdf")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "content", "status", "stored_as"),
    [
        ("../../etc/passwd.txt", TEXT, 201, "passwd.txt"),
        ("..\\..\\win.txt", TEXT, 201, "win.txt"),
        ("nul\x00byte.txt", TEXT, 400, None),
        ("a" * 300 + ".txt", TEXT, 400, None),
        ("\u202etxt.exe", TEXT, 400, None),
        ("report\u202e.pdf", TEXT, 400, None),
        ("CON.txt", TEXT, 400, None),
        ("lpt1", TEXT, 400, None),
        ("..", TEXT, 400, None),
        ("archive.pdf", None, 400, None),
        ("program.exe", b"MZ\x90\x00binary", 400, None),
        ("photo.txt", b"\x89PNG\r\n\x1a\n" + bytes(100), 400, None),
    ],
)
def test_hostile_names_and_types_are_refused_or_reduced(
    small, small_sm, tokens, filename, content, status, stored_as
):
    content = _zip_bytes() if content is None else content
    before = set(incoming(small, "up"))
    rows = ledger_rows(small_sm, "up")
    with small.client(tokens["eve"]) as http:  # raw: httpx would percent-encode a NUL
        response = http.post(
            "/api/v1/domains/up/uploads",
            content=multipart(filename, content),
            headers={"content-type": "multipart/form-data; boundary=b0undary"},
        )
    assert response.status_code == status, response.text
    after = set(incoming(small, "up"))
    if stored_as:
        assert response.json()["files"][0]["name"] == stored_as
        assert after - before == {f"upload/{stored_as}"}
    else:
        error = error_of(response)
        assert error["message"] and "\x00" not in error["message"]
        assert after == before and ledger_rows(small_sm, "up") == rows
    assert_alive(small)


def test_a_pdf_that_is_a_zip_says_so(small, tokens):
    response = post_files(small, tokens["eve"], "up", {"file": ("r.pdf", _zip_bytes(), "")})
    assert response.status_code == 400
    assert "zip" in error_of(response)["message"]


def test_a_name_still_waiting_is_a_409_and_the_first_file_stays(small, tokens):
    first = post_files(small, tokens["eve"], "up", {"file": ("twice.txt", TEXT, "")})
    assert first.status_code == 201, first.text
    again = post_files(small, tokens["eve"], "up", {"file": ("twice.txt", b"other\n", "")})
    assert again.status_code == 409, again.text
    assert (small.data_dir / "ingest/up/incoming/upload/twice.txt").read_bytes() == TEXT


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"file": "x"}', "application/json"),
        (b"just bytes", "application/octet-stream"),
        (b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nv\r\n--b--\r\n', None),
        (b'--b\r\nContent-Disposition: form-data; name="f"; filename="t.txt"\r\n\r\nab', None),
        (b"", None),
        (b"--b\r\nTrue--b--\r\n", None),  # schemathesis: a parse error was a 500
        (
            b'--b\r\nContent-Disposition: form-data; name="f"; filename="t.txt"\r\n\r\n'
            b"ab\r\n--b\r\nbad header\r\n",
            None,
        ),
    ],
    ids=["json", "octets", "no-file-part", "truncated", "empty-body", "malformed", "bad-2nd"],
)
def test_bodies_that_are_not_a_complete_upload_are_400s(
    small, small_sm, tokens, content, content_type
):
    rows = ledger_rows(small_sm, "up")
    before = set(incoming(small, "up"))
    headers = {"content-type": content_type or "multipart/form-data; boundary=b"}
    with small.client(tokens["eve"]) as http:
        response = http.post("/api/v1/domains/up/uploads", content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert error_of(response)["message"]
    assert set(incoming(small, "up")) == before and ledger_rows(small_sm, "up") == rows
    assert_alive(small)


def test_viewers_and_strangers_cannot_upload_and_cannot_tell_hidden_domains(small, tokens):
    files = {"file": ("v.txt", TEXT, "")}
    granted = post_files(small, tokens["vic"], "up", files)
    assert granted.status_code == 403, granted.text
    hidden = post_files(small, tokens["eve"], "hidden", files)
    missing = post_files(small, tokens["eve"], "hiddem", files)
    assert hidden.status_code == missing.status_code == 404
    assert error_of(hidden)["code"] == error_of(missing)["code"] == "domain_not_found"
    assert post_files(small, None, "up", files).status_code == 401
    assert not (small.data_dir / "ingest/hidden").exists()
    assert_alive(small)


def test_an_upload_id_of_a_hidden_domain_is_a_404_like_a_missing_id(small, tokens):
    stored = post_files(small, tokens["ada"], "hidden", {"file": ("h.txt", TEXT, "")})
    assert stored.status_code == 201, stored.text
    file_id = stored.json()["files"][0]["id"]
    with small.client(tokens["vic"]) as http:
        hidden = http.get(f"/api/v1/uploads/{file_id}")
        missing = http.get("/api/v1/uploads/987654321")
    assert hidden.status_code == missing.status_code == 404
    a, b = error_of(hidden), error_of(missing)
    assert a["code"] == b["code"] == "upload_not_found"
    assert a["message"].replace(str(file_id), "N") == b["message"].replace("987654321", "N")
    with small.client(tokens["ada"]) as http:
        assert http.get(f"/api/v1/uploads/{file_id}").status_code == 200
        for bad in ("0", "-1", str(2**63), str(10**30)):
            assert http.get(f"/api/v1/uploads/{bad}").status_code in (404, 422), bad
        assert http.get("/api/v1/uploads/x").status_code == 422


def _raw_upload_start(
    server: Server, token: str, name: str, total: int, sent: int | None = None
) -> socket.socket:
    """Send the headers and the first ``sent`` (default: half) of a body announcing
    ``total`` file bytes; ``sent=-1``: the HTTP headers only, not a byte of the body."""
    head = (
        f'--b\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'
    ).encode()
    length = len(head) + total + len(b"\r\n--b--\r\n")
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sent = total // 2 if sent is None else sent
    sock.sendall(
        (
            f"POST /api/v1/domains/up/uploads HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {length}\r\n\r\n"
        ).encode()
        + (head + b"x" * sent if sent >= 0 else b"")
    )
    return sock


def _read_to_close(sock: socket.socket, bound: float) -> bytes:
    """Everything the server sends until it closes the connection (within ``bound`` s)."""
    sock.settimeout(bound)
    out = b""
    while chunk := sock.recv(65536):  # socket.timeout (an error) if it is never closed
        out += chunk
    return out


def _wait_for_temp_then_gone(server: Server, domain: str) -> None:
    deadline = time.monotonic() + 240  # generous: a loaded machine may be slow to clean up
    while [p for p in incoming(server, domain) if ".tidyllm-tmp" in p]:
        assert time.monotonic() < deadline, incoming(server, domain)
        time.sleep(0.1)


def test_a_client_that_disconnects_mid_body_leaves_nothing(small, small_sm, tokens):
    rows = ledger_rows(small_sm, "up")
    before = set(incoming(small, "up"))
    sock = _raw_upload_start(small, tokens["eve"], "gone.txt", LIMIT - 100)
    time.sleep(0.5)  # let the server start streaming it
    sock.close()
    _wait_for_temp_then_gone(small, "up")
    assert set(incoming(small, "up")) == before
    assert ledger_rows(small_sm, "up") == rows
    assert_alive(small)


@pytest.mark.parametrize(
    ("sent", "status", "code"),
    [(-1, 408, "upload_timed_out"), (None, 408, "upload_timed_out"), (LIMIT + 100, 413, None)],
    ids=["headers-only", "mid-file", "over-the-limit"],
)
def test_a_client_that_stops_sending_is_answered_and_closed_at_the_idle_timeout(
    small, small_sm, tokens, sent, status, code
):
    """The client sends the headers and part of the body, then nothing (it keeps the
    connection open): after server.upload_idle_seconds it gets the error in the one
    shape and a closed connection; nothing is stored; the server served others meanwhile.
    (over-the-limit: the 413 is decided mid-stream, then waits at most the idle time for
    the unread rest before going out.)"""
    name = f"stalled-{sent}.txt"
    rows = ledger_rows(small_sm, "up")
    before = set(incoming(small, "up"))
    started = time.monotonic()
    sock = _raw_upload_start(small, tokens["eve"], name, 4 * LIMIT if sent else LIMIT, sent)
    try:
        during = post_files(small, tokens["eve"], "up", {"file": (f"during-{sent}.txt", TEXT, "")})
        assert during.status_code == 201, during.text
        answer = _read_to_close(sock, 120)
    finally:
        sock.close()
    waited = time.monotonic() - started
    assert IDLE - 0.5 <= waited < 90, waited
    head, _, payload = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), answer[:500]
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert headers["content-type"] == "application/json"
    error = error_of(httpx.Response(status, content=payload, headers=headers))
    if code:
        assert error["code"] == code and headers["connection"] == "close"
        assert f"{IDLE} seconds" in error["message"] and "nothing was stored" in error["message"]
        assert "server.upload_idle_seconds" in error["hint"]
    _wait_for_temp_then_gone(small, "up")
    assert set(incoming(small, "up")) == before | {f"upload/during-{sent}.txt"}
    assert ledger_rows(small_sm, "up") == rows + 1  # the upload made during the stall
    if sent != -1:  # a file had begun: its refusal is audited, with the reason
        refused = [e for e in read_audit(small_sm) if e.action == "upload.refuse"]
        expected = "UploadTimedOut" if code else "UploadTooLarge"
        assert refused[-1].detail["error"] == expected, refused[-1]
    after = post_files(small, tokens["eve"], "up", {"file": (f"after-{sent}.txt", TEXT, "")})
    assert after.status_code == 201, after.text
    assert_alive(small)


@pytest.mark.parametrize("value", ["0", "-5", "0.5", "3601", "1e12", "inf", "nan", "soon"])
def test_hostile_upload_idle_seconds_are_clear_settings_errors(tmp_path, value):
    with pytest.raises(SettingsError) as info:
        load_settings(environ={"TIDYLLM_SERVER__UPLOAD_IDLE_SECONDS": value})
    message = str(info.value)
    assert (
        "server.upload_idle_seconds" in message and "TIDYLLM_SERVER__UPLOAD_IDLE_SECONDS" in message
    )
    settings_file = tmp_path / "tidyllm.yaml"
    settings_file.write_text(f"server:\n  upload_idle_seconds: {value}\n", encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(config_file=settings_file, environ={})
    assert "server.upload_idle_seconds" in str(info.value) and "tidyllm.yaml" in str(info.value)


def test_upload_idle_seconds_defaults_to_a_minute_and_takes_fractions():
    assert load_settings(environ={}).settings.server.upload_idle_seconds == 60
    loaded = load_settings(environ={"TIDYLLM_SERVER__UPLOAD_IDLE_SECONDS": "2.5"})
    assert loaded.settings.server.upload_idle_seconds == 2.5


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class RssSampler(threading.Thread):
    """The peak RSS of ``pid``, sampled every ``every`` seconds until stopped."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak = self.samples = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, _rss_kib(self.pid))
            self.samples += 1
            self.stopped.wait(self.every)

    def __enter__(self) -> RssSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.join()


def test_a_1_gib_upload_streams_with_flat_memory_and_a_kill_mid_upload_loses_nothing(
    tmp_path, database_url
):
    """A file of exactly the default server.max_upload_bytes (1 GiB), sent without pause:
    accepted, byte-counted, and the server's RSS (sampled every 50 ms while it streams)
    grows by less than 50 MB. Then a SIGKILL mid-upload leaves no object and no ledger row,
    and after a restart the same upload succeeds once."""
    big = 1024**3
    assert load_settings(environ={}).settings.server.max_upload_bytes == big
    server = start_with(tmp_path, database_url, "--no-worker")
    stored = server.data_dir / "ingest/up/incoming/upload/big.txt"
    try:
        from tidyllm.session import UnifiedSessionManager

        with UnifiedSessionManager(data_dir=server.data_dir, database={"url": database_url}) as sm:
            tokens = people(sm, ("up",))
            assert_alive(server)
            start = _rss_kib(server.process.pid)
            block = b"the quick brown fox jumps over the lazy dog\n" * 1490  # ~64 KB, reused
            whole, rest = divmod(big, len(block))

            def body() -> Iterator[bytes]:
                yield b"--b\r\nContent-Disposition: form-data; "
                yield b'name="file"; filename="big.txt"\r\n\r\n'
                for _ in range(whole):
                    yield block
                yield block[:rest]
                yield b"\r\n--b--\r\n"

            began = time.monotonic()
            with RssSampler(server.process.pid) as rss, server.client(tokens["eve"]) as http:
                response = http.post(
                    "/api/v1/domains/up/uploads",
                    content=body(),
                    headers={"content-type": "multipart/form-data; boundary=b"},
                )
            took = time.monotonic() - began
            assert response.status_code == 201, response.text
            assert response.json()["files"][0]["size"] == big
            assert stored.stat().st_size == big
            grew = rss.peak - start
            print(f"1 GiB upload: {took:.1f} s, {big / took / 1e6:.0f} MB/s, RSS +{grew} KiB")
            assert rss.samples > 20, rss.samples  # it really was watched while streaming
            assert grew < 50 * 1024, f"RSS grew by {grew // 1024} MB"

            rows = ledger_rows(sm, "up")
            sock = _raw_upload_start(server, tokens["eve"], "killed.txt", 50 * 1024 * 1024)
            time.sleep(1.0)
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(60)
            sock.close()
            assert ledger_rows(sm, "up") == rows
            assert "upload/killed.txt" not in incoming(server, "up")

        # restarted on the same data: the same upload succeeds, once
        server = start_with(tmp_path, database_url, "--no-worker")
        with UnifiedSessionManager(data_dir=server.data_dir, database={"url": database_url}) as sm:
            token = create_token(sm, "eve", "again").secret
            again = post_files(server, token, "up", {"file": ("killed.txt", TEXT, "")})
            assert again.status_code == 201, again.text
            assert ledger_rows(sm, "up") == rows + 1
            listed = [info.key for info in ingest_store(sm, "up").list("incoming/")]
            assert listed == ["incoming/upload/big.txt", "incoming/upload/killed.txt"]
            # the killed write's temp file is no object; a scan sweeps it once it is stale
            (left,) = [p for p in incoming(server, "up") if ".tidyllm-tmp-" in p]
            stale = time.time() - STALE_TMP_SECONDS - 60
            os.utime(server.data_dir / "ingest/up/incoming" / left, (stale, stale))
            UnifiedDropZones(sm).drain(["ingest-up"], track=False)
            assert not [p for p in incoming(server, "up") if ".tidyllm-tmp-" in p]
    finally:
        stop_server(server)
        stored.unlink(missing_ok=True)  # pytest keeps the last runs' temp dirs: not 1 GiB each


def test_the_fed_pdf_uploaded_over_http_is_processed_by_the_servers_worker_and_found(
    tmp_path, database_url
):
    server = start_with(tmp_path, database_url)  # the background worker is on
    try:
        from tidyllm.session import UnifiedSessionManager

        with UnifiedSessionManager(data_dir=server.data_dir, database={"url": database_url}) as sm:
            tokens = people(sm, ("fed",))  # created after the worker started
        with FED_PDF.open("rb") as pdf:
            response = post_files(
                server, tokens["eve"], "fed", {"file": (FED_PDF.name, pdf, "application/pdf")}
            )
        assert response.status_code == 201, response.text
        (stored,) = response.json()["files"]
        assert stored["content_type"] == "application/pdf"
        assert stored["size"] == FED_PDF.stat().st_size
        state, seen, last_change = None, None, time.monotonic()
        with server.client(tokens["vic"]) as http:
            while state not in ("done", "failed", "dead", "duplicate"):
                body = http.get(f"/api/v1/uploads/{stored['id']}").json()
                state = body["state"]
                progress = (state, len(body["events"]))
                if progress != seen:
                    seen, last_change = progress, time.monotonic()
                assert time.monotonic() - last_change < PROGRESS_BOUND, (
                    f"no progress: {body}\n{server.log.read_text()}"
                )
                assert server.process.poll() is None, server.log.read_text()
                time.sleep(0.5)
            assert state == "done", body
            assert {"detected", "claimed"} <= {e["kind"] for e in body["events"]}
            found = http.post(
                "/api/v1/domains/fed/search", json={"query": "model validation", "k": 3}
            )
        assert found.status_code == 200, found.text
        assert found.json()["hits"], found.text
    finally:
        code = stop_server(server)
    assert code == 0, server.log.read_text()
    assert "Traceback" not in server.log.read_text()


def test_an_upload_being_processed_says_which_pipeline_step_it_is_in(small, small_sm, tokens):
    """``stage``: the step of the ``step`` event the worker wrote as the step started (a
    worker is played here, so no timing is involved: the server has none)."""
    from tidyllm.dropzones.ledger import Ledger

    create_domain(small_sm, "staged")
    add_grant(small_sm, "staged", user="eve", role="editor")
    response = post_files(small, tokens["eve"], "staged", {"file": ("s.txt", TEXT, "text/plain")})
    assert response.status_code == 201, response.text
    file_id = response.json()["files"][0]["id"]
    with small.client(tokens["eve"]) as http:
        assert http.get(f"/api/v1/uploads/{file_id}").json()["stage"] is None  # queued
        ledger = Ledger(small_sm)
        (row,) = ledger.claim(["ingest-staged"], "played-worker", lease=600)
        assert http.get(f"/api/v1/uploads/{file_id}").json()["stage"] is None  # fetching
        assert ledger.step(row, "played-worker", "extract")
        body = http.get(f"/api/v1/uploads/{file_id}").json()
        assert (body["state"], body["stage"]) == ("processing", "extract")
        assert ledger.step(row, "played-worker", "index")
        body = http.get(f"/api/v1/uploads/{file_id}").json()
    assert (body["state"], body["stage"]) == ("processing", "index")
    steps = [e["detail"]["step"] for e in body["events"] if e["kind"] == "step"]
    assert steps == ["extract", "index"]
