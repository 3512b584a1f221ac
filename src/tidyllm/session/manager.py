"""UnifiedSessionManager: the one place that opens connections to outside services.

Clients are created lazily on first use, cached, shared between threads, and
re-created in a forked child (a child never reuses its parent's sockets).
``close()`` releases everything this manager created and is idempotent.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tidyllm.credentials import CredentialStore, resolve_secret
from tidyllm.errors import ServiceUnavailable, SettingsError, TidyLLMError
from tidyllm.redaction import install_log_redaction, redact
from tidyllm.session import clients
from tidyllm.session.health import HealthResult, run_probes
from tidyllm.session.legacy import LegacyMethods
from tidyllm.settings import LoadedSettings, Settings, load_settings
from tidyllm.tracking.outbox import disable_mlflow_telemetry

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class LLMHandle:
    """The configured answer generator: its provider, model and (for remote ones) a client."""

    provider: str
    model: str | None
    client: Any


class UnifiedSessionManager(LegacyMethods):
    """Owns every client TidyLLM uses: object store, database pool, MLflow, LLM, embedder.

    ``UnifiedSessionManager()`` reads settings from the environment and the
    settings file; pass ``settings=`` (a :class:`Settings` or the result of
    :func:`load_settings`) or keyword overrides such as
    ``UnifiedSessionManager(database={"url": ...})`` to set them explicitly.
    """

    def __init__(
        self,
        settings: Settings | LoadedSettings | None = None,
        *,
        config_file: Path | str | None = None,
        **overrides: Any,
    ) -> None:
        if isinstance(settings, LoadedSettings):
            self.loaded = settings
        elif isinstance(settings, Settings):
            self.loaded = LoadedSettings(settings=settings, sources={"": "argument"})
        else:
            self.loaded = load_settings(overrides or None, config_file=config_file)
        install_log_redaction()
        disable_mlflow_telemetry()  # before MLflow is imported: the defaults call no one outside
        self.settings: Settings = self.loaded.settings
        self.data_dir = Path(self.settings.data_dir).expanduser()
        self.credentials = CredentialStore(self.data_dir)
        self._lock = threading.RLock()
        self._cache: dict[str, Any] = {}
        self._pid = os.getpid()
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"open: {sorted(self._cache)}"
        return f"<UnifiedSessionManager data_dir={str(self.data_dir)!r} {state}>"

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> UnifiedSessionManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, name: str, factory: Callable[[], T]) -> T:
        """The cached client ``name``, created once per process under the lock."""
        if self._closed:
            raise TidyLLMError("this UnifiedSessionManager is closed")
        if os.getpid() != self._pid:
            self._forget_inherited()
        try:
            return self._cache[name]
        except KeyError:
            pass
        with self._lock:
            if name not in self._cache:
                self._cache[name] = factory()
            return self._cache[name]

    def _forget_inherited(self) -> None:
        """After fork: drop the parent's clients without closing them (they are the parent's)."""
        with self._lock:
            if os.getpid() != self._pid:
                self._cache = {}
                self._lock = threading.RLock()
                self._pid = os.getpid()

    def close(self) -> None:
        """Close every client this manager created. Safe to call more than once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            cache, self._cache = self._cache, {}
        if os.getpid() != self._pid:
            return  # inherited clients belong to the parent process
        for name, client in cache.items():
            # LLMHandle wraps its client; stores and settings-derived values have no close().
            closer = getattr(getattr(client, "client", client), "close", None)
            if closer is None:
                continue
            try:
                closer()
            except Exception as exc:  # closing must go on with the rest
                log.warning("closing %s failed: %s", name, exc)

    # --- AWS -------------------------------------------------------------------------------

    def boto3_session(self) -> Any:
        """The boto3 session (boto3's own credential chain)."""
        return self._get("boto3", lambda: clients.boto3_session(self.settings))

    def s3_client(self) -> Any:
        """The shared boto3 S3 client."""
        return self._get("s3", lambda: clients.s3_client(self.boto3_session(), self.settings))

    def aws_credential_source(self) -> str:
        """Which link of boto3's chain supplied AWS credentials."""
        return clients.aws_credential_source(self.boto3_session())

    def object_store(self) -> Any:
        """The configured object store: S3 when a bucket is set, else DATA/objects."""
        return self._get("object_store", self._make_object_store)

    def _make_object_store(self) -> Any:
        conf = self.settings.object_store
        if conf.kind == "s3":
            return self.object_store_for(f"s3://{conf.bucket}/{conf.prefix}")
        return self.object_store_for(str(conf.local_path or (self.data_dir / "objects")))

    def object_store_for(self, location: str) -> Any:
        """An object store at ``s3://bucket/prefix/`` or a local folder, cached per location.

        Drop zones name their own locations; S3 ones share this manager's S3 client.
        """
        if location.startswith("s3://"):
            from tidyllm.objectstore.s3 import S3ObjectStore  # boto3: only for buckets

            bucket, _, prefix = location[len("s3://") :].partition("/")
            if not bucket:
                raise SettingsError(f"{location!r} names no bucket")
            return self._get(
                f"store:{location}", lambda: S3ObjectStore(self.s3_client(), bucket, prefix)
            )
        if "://" in location:
            raise SettingsError(f"unsupported object store location {location!r}")
        from tidyllm.objectstore.local import LocalObjectStore

        path = Path(location).expanduser().resolve()
        return self._get(f"store:{path}", lambda: LocalObjectStore(path))

    def sqs_client(self) -> Any:
        """The shared boto3 SQS client (S3 event notifications for drop zones)."""
        return self._get("sqs", lambda: clients.sqs_client(self.boto3_session(), self.settings))

    # --- PostgreSQL ------------------------------------------------------------------------

    def db(self) -> Any:
        """The psycopg ``ConnectionPool`` (migrations applied before it opens)."""
        return self._get("pool", self._make_pool)

    def _make_pool(self) -> Any:
        params, _ = self._database_target()
        extra = clients.password_kwargs(self.settings, self.credentials)
        clients.migrate(params, extra)
        return clients.connection_pool(params, extra, self.settings)

    def _database_target(self) -> tuple[dict[str, Any], str]:
        return self._get("db_target", lambda: clients.database_target(self.settings))

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection, returned to the pool (and its transaction ended) on exit."""
        pool = self.db()
        try:
            cm = pool.connection(timeout=self.settings.database.pool_timeout)
            conn = cm.__enter__()
        except Exception as exc:
            raise ServiceUnavailable("PostgreSQL", _redacted(exc)) from None
        try:
            yield conn
        except BaseException as exc:
            if not cm.__exit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            cm.__exit__(None, None, None)

    # --- MLflow ----------------------------------------------------------------------------

    def mlflow(self) -> Any:
        """The shared ``MlflowClient``."""
        return self._get("mlflow", lambda: clients.mlflow_client(self.settings))

    def point_mlflow_tracer(self) -> None:
        """Point MLflow's process-wide tracking URI at this manager's store.

        MLflow exports traces only through its global tracer, which has no
        per-client URI; this is the one place TidyLLM sets that global.
        """
        clients.point_mlflow_tracer(self.mlflow().tracking_uri)

    def tracker(self) -> Any:
        """The buffering tracker: logs runs, or keeps them on disk while MLflow is down."""
        return self._get("tracker", self._make_tracker)

    def _make_tracker(self) -> Any:
        from tidyllm.tracking import Tracker

        return Tracker(
            self.mlflow, self.settings.mlflow.experiment, self.data_dir / "tracking-buffer"
        )

    def outbox(self) -> Any:
        """Where runs and question traces are buffered without importing MLflow.

        Sent later by a background flush process or ``tidyllm tracking flush``
        (see :mod:`tidyllm.tracking.outbox`).
        """
        return self._get("outbox", self._make_outbox)

    def _make_outbox(self) -> Any:
        from tidyllm.tracking.outbox import Outbox

        conf = self.settings.mlflow
        # The background flush process reads the same settings file and environment;
        # these keep it on this manager's data dir and services when they were arguments.
        child_env = {"TIDYLLM_DATA_DIR": str(self.data_dir)}
        if conf.tracking_uri:
            child_env["TIDYLLM_MLFLOW__TRACKING_URI"] = conf.tracking_uri
        if self.settings.database.url:
            child_env["TIDYLLM_DATABASE__URL"] = self.settings.database.url
        return Outbox(
            self.data_dir / "tracking-buffer",
            conf.experiment,
            background=conf.background_flush,
            child_env=child_env,
        )

    # --- LLM and embedder ------------------------------------------------------------------

    def llm(self) -> LLMHandle:
        """The configured answer generator (offline extractive by default)."""
        return self._get("llm", self._make_llm)

    def _make_llm(self) -> LLMHandle:
        conf = self.settings.llm
        if conf.provider == "bedrock":
            client = clients.bedrock_client(self.boto3_session(), self.settings)
        elif conf.provider == "openai":
            key = resolve_secret(conf.api_key, self.credentials)
            client = clients.openai_http_client(conf.endpoint, key, conf.timeout)
        else:
            client = None
        return LLMHandle(conf.provider, conf.model, client)

    def embedder(self) -> Any:
        """The configured embedder (offline all-MiniLM-L6-v2 by default)."""
        return self._get("embedder", self._make_embedder)

    def _make_embedder(self) -> Any:
        conf = self.settings.embedder
        if conf.provider == "bedrock":
            from tidyllm.knowledge.remote_embedding import BedrockTitanEmbedder

            client = clients.bedrock_client(self.boto3_session(), self.settings)
            return BedrockTitanEmbedder(client, conf.model)
        if conf.provider == "openai":
            from tidyllm.knowledge.remote_embedding import OpenAICompatibleEmbedder

            key = resolve_secret(conf.api_key, self.credentials)
            http = clients.openai_http_client(conf.endpoint, key, self.settings.llm.timeout)
            return OpenAICompatibleEmbedder(http, conf.model)
        from tidyllm.embedding import MiniLMEmbedder

        # The rewritten model graph is cached here: later processes skip `onnx` (0.5-2 s).
        return MiniLMEmbedder(cache_dir=self.data_dir / "models")

    # --- outside metadata services ---------------------------------------------------------

    def outside_http(self) -> Any:
        """The polite HTTP client for arXiv and Crossref (``tidyllm papers``), built when used."""
        return self._get("outside_http", lambda: clients.outside_http_client(self.settings))

    # --- health ----------------------------------------------------------------------------

    def health(self) -> list[HealthResult]:
        """Probe every service; configured services that fail are not ok."""
        from tidyllm.session import probes

        return run_probes(probes.all_probes(self))


def _redacted(exc: BaseException) -> str:
    return redact(exc).strip() or exc.__class__.__name__
