"""The one typed schema of every TidyLLM setting.

Every field has a default that makes the system run on embedded services
with no configuration at all. Secret fields hold either a literal (only
allowed from the environment or an explicit argument) or a reference
``secret:NAME`` into the encrypted credential store, resolved at connect time
so that a rotated secret is picked up without a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tidyllm.redaction import redact

SECRET_PREFIX = "secret:"  # noqa: S105 - a reference marker, not a secret


class _Section(BaseModel):
    """A settings section: unknown keys are errors, never silently ignored.

    Its repr masks registered secrets and URL passwords (a DATABASE_URL may hold one).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def __repr_args__(self):
        for name, value in super().__repr_args__():
            yield name, redact(value) if isinstance(value, str) else value


class ObjectStoreSettings(_Section):
    """Where documents live: an S3 bucket (when ``bucket`` is set) or a local folder."""

    bucket: str | None = Field(None, description="S3 bucket; unset means a local folder")
    prefix: str = Field("", description="Key prefix inside the bucket or folder")
    region: str | None = Field(None, description="AWS region (else boto3's own chain)")
    endpoint_url: str | None = Field(None, description="S3-compatible endpoint URL")
    profile: str | None = Field(None, description="AWS shared-config profile name")
    local_path: Path | None = Field(None, description="Local store folder (default: DATA/objects)")
    connect_timeout: float = Field(5.0, gt=0, description="S3 connect timeout, seconds")
    read_timeout: float = Field(30.0, gt=0, description="S3 read timeout, seconds")
    max_attempts: int = Field(5, ge=1, le=20, description="boto3 adaptive-retry attempts")

    @property
    def kind(self) -> Literal["s3", "local"]:
        return "s3" if self.bucket else "local"


class DatabaseSettings(_Section):
    """PostgreSQL: a URL (production) or nothing (embedded PostgreSQL under DATA/postgres)."""

    url: str | None = Field(None, description="postgresql:// URL; unset means embedded PostgreSQL")
    host: str | None = Field(None, description="Host, when given in parts instead of a URL")
    port: int | None = Field(None, ge=1, le=65535, description="Port, when given in parts")
    name: str | None = Field(None, description="Database name, when given in parts")
    user: str | None = Field(None, description="User name, when given in parts")
    password: SecretStr | None = Field(None, description="Password or secret:NAME")
    pool_min: int = Field(1, ge=0, le=100, description="Connections kept open")
    pool_max: int = Field(10, ge=1, le=1000, description="Most connections at once")
    pool_timeout: float = Field(30.0, gt=0, description="Seconds to wait for a free connection")
    max_lifetime: float = Field(3600.0, gt=0, description="Seconds before a connection is renewed")
    connect_timeout: int = Field(5, ge=1, le=300, description="Seconds to wait for a connect")


class MlflowSettings(_Section):
    """MLflow tracking: a server URI, or a local store under DATA/mlflow."""

    tracking_uri: str | None = Field(None, description="Tracking URI; unset means DATA/mlflow")
    experiment: str = Field("tidyllm", min_length=1, description="Experiment name")
    request_timeout: int = Field(5, ge=1, le=600, description="HTTP timeout per request, seconds")
    request_retries: int = Field(1, ge=0, le=10, description="HTTP retries before buffering")
    background_flush: bool = Field(
        True,
        description="Send buffered runs and traces from a background process"
        " (false: only `tidyllm tracking flush` sends them)",
    )
    ui_url: str | None = Field(
        None,
        max_length=500,
        description="http(s) URL of the MLflow UI, for links from the web dashboard",
    )

    @field_validator("ui_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")) or any(
            c.isspace() or ord(c) < 32 for c in value
        ):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class LLMSettings(_Section):
    """The answer generator."""

    provider: Literal["extractive", "bedrock", "openai"] = Field(
        "extractive", description="extractive (offline), bedrock or openai (compatible endpoint)"
    )
    model: str | None = Field(None, description="Model id (Bedrock) or name (OpenAI-compatible)")
    endpoint: str | None = Field(None, description="Base URL of an OpenAI-compatible endpoint")
    api_key: SecretStr | None = Field(None, description="API key or secret:NAME")
    region: str | None = Field(None, description="AWS region for Bedrock")
    timeout: float = Field(60.0, gt=0, description="Seconds per LLM request")


class EmbedderSettings(_Section):
    """The embedding model."""

    provider: Literal["minilm", "bedrock", "openai"] = Field(
        "minilm", description="minilm (offline ONNX), bedrock (Titan) or openai (compatible)"
    )
    model: str | None = Field(None, description="Model id for bedrock/openai")
    endpoint: str | None = Field(None, description="Base URL of an OpenAI-compatible endpoint")
    api_key: SecretStr | None = Field(None, description="API key or secret:NAME")
    batch_size: int | None = Field(
        None,
        ge=1,
        le=4096,
        description="Texts per model call; null: the embedder's own (MiniLM 8, OpenAI 64)",
    )


class SearchSettings(_Section):
    """Ranking: BM25 for the full-text leg, and how the two legs are fused."""

    text_ranking: Literal["bm25", "ts_rank"] = Field(
        "bm25", description="Full-text leg ranking: bm25, or ts_rank (the old one, for comparison)"
    )
    bm25_k1: float = Field(1.2, ge=0, le=10, description="BM25 term-frequency saturation")
    bm25_b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation (0: none)")
    rrf_k: int = Field(30, ge=1, le=10_000, description="Reciprocal-rank fusion constant")
    dense_weight: float = Field(1.0, ge=0, le=10, description="Weight of the dense leg in fusion")
    text_weight: float = Field(1.0, ge=0, le=10, description="Weight of the full-text leg")
    candidates: int = Field(
        50, ge=1, le=1000, description="Rows each leg contributes to fusion (at least 2k)"
    )
    max_per_page: int = Field(
        2, ge=1, le=100, description="Chunks of one page in the top 5 before other pages"
    )


class ServerSettings(_Section):
    """``tidyllm serve``: what runs next to the API."""

    worker: bool = Field(
        True, description="Run a drop-zone worker in each server process (serve --no-worker: off)"
    )
    session_hours: float = Field(
        12.0, gt=0, le=24 * 90, description="Lifetime of a browser login session, in hours"
    )
    max_upload_bytes: int = Field(
        1024**3,
        ge=1,
        description=(
            "Largest file one upload may carry, in bytes (refused with 413 while streaming)"
        ),
    )
    upload_idle_seconds: float = Field(
        60.0,
        ge=1,
        le=3600,
        description=(
            "Seconds (1 to 3600) an upload may wait for the client's next bytes; a client that "
            "stops sending gets a 408, its connection is closed and nothing is stored"
        ),
    )


class ZoneSettings(_Section):
    """One drop zone: where files arrive and what happens to them."""

    name: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Zone name")
    source: str = Field(..., description="s3://bucket/prefix/ or a local folder")
    pipeline: str = Field("extract", description="Pipeline name")
    domain: str | None = Field(None, description="Target knowledge domain")
    allowed_types: list[str] = Field(default_factory=list, description="Extensions; empty = all")
    max_file_size_mb: float = Field(100.0, gt=0, description="Larger files fail")
    quiet_period: float = Field(2.0, ge=0, description="Local: seconds a file must stay unchanged")
    max_attempts: int = Field(5, ge=1, le=100, description="Attempts before a file is dead")
    enabled: bool = Field(True, description="Disabled zones are skipped")
    ocr: bool = Field(False, description="OCR pages without a text layer (needs the ocr extra)")
    parse_timeout: float = Field(
        60.0, gt=0, le=3600, description="Seconds one file may take to parse (OCR: ~20 per page)"
    )
    scan_interval: float = Field(
        60.0, gt=0, description="Seconds between full reconciliation scans of incoming/"
    )
    sqs_queue_url: str | None = Field(
        None, description="SQS queue receiving the bucket's S3 event notifications (S3 zones)"
    )


_MIME_PATTERN = r"^[a-z0-9][a-z0-9.+-]{0,62}/(\*|[a-z0-9][a-z0-9.+-]{0,62})$"
_NAME_OF_RULE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_DOMAIN_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class RouteMatch(_Section):
    """What an upload routing rule matches: every condition given must hold."""

    type: str | None = Field(
        None,
        pattern=_MIME_PATTERN,
        description="Detected MIME type, exact (application/pdf) or a family (text/*)",
    )
    name: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        description="Glob on the file's base name, case-insensitive (*.md, report-??.pdf)",
    )
    min_bytes: int | None = Field(None, ge=0, description="Smallest size, in bytes")
    max_bytes: int | None = Field(None, ge=0, description="Largest size, in bytes")

    @field_validator("name")
    @classmethod
    def _glob(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("a name glob matches a base name: no '/', '\\' or control characters")
        depth = 0
        for c in value:  # fnmatch takes an unclosed '[' literally: a typo, most likely
            if c == "[":
                depth += 1
            elif c == "]" and depth:
                depth = 0
        if depth:
            raise ValueError(f"the glob {value!r} has a '[' that is never closed")
        return value

    @model_validator(mode="after")
    def _some_condition(self) -> RouteMatch:
        conditions = (self.type, self.name, self.min_bytes, self.max_bytes)
        if all(c is None for c in conditions):
            raise ValueError("a rule needs at least one of type, name, min_bytes, max_bytes")
        low, high = self.min_bytes, self.max_bytes
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_bytes ({low}) is larger than max_bytes ({high})")
        return self


class UploadRoute(_Section):
    """One routing rule: files that match go to ``domain`` (the first matching rule wins)."""

    name: str = Field(..., pattern=_NAME_OF_RULE, description="Rule name, shown to the user")
    match: RouteMatch = Field(..., description="The conditions (all must hold)")
    domain: str = Field(..., pattern=_DOMAIN_NAME, description="Domain the files go to")


class UploadSettings(_Section):
    """Smart routing on the web upload page: rules that choose a domain for a file."""

    routes: list[UploadRoute] = Field(
        default_factory=list,
        description="Routing rules, first match wins (see docs/web.md#smart-routing)",
    )
    default_domain: str | None = Field(
        None, pattern=_DOMAIN_NAME, description="Domain for files no rule matches; unset: none"
    )

    @field_validator("routes")
    @classmethod
    def _unique_route_names(cls, routes: list[UploadRoute]) -> list[UploadRoute]:
        names = [r.name for r in routes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"route names must be unique; repeated: {', '.join(dupes)}")
        return routes


class WebSettings(_Section):
    """The REST API and web UI."""

    host: str = Field("127.0.0.1", description="Listen address")
    port: int = Field(8765, ge=1, le=65535, description="Listen port")
    api_token: SecretStr | None = Field(None, description="Bearer token or secret:NAME")
    max_upload_mb: float = Field(100.0, gt=0, description="Largest accepted upload")


class PapersSettings(_Section):
    """Outside metadata services for ``tidyllm papers add``: arXiv and Crossref.

    Nothing here is contacted unless a papers command runs (the client is built on first use).
    """

    arxiv_api_url: str = Field(
        "https://export.arxiv.org/api", description="arXiv API base URL (the Atom query endpoint)"
    )
    arxiv_pdf_url: str = Field("https://arxiv.org/pdf", description="Base URL of arXiv PDFs")
    crossref_url: str = Field("https://api.crossref.org", description="Crossref REST API base URL")
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds per request to these services")
    retries: int = Field(
        3, ge=0, le=10, description="Retries after a timeout, 429 or 5xx before giving up"
    )
    min_interval: float = Field(
        3.0,
        ge=0,
        le=600,
        description="Polite rate limit: seconds between two requests to one service",
    )
    max_retry_after: float = Field(
        120.0, ge=0, le=3600, description="Longest Retry-After (seconds) honoured; longer fails"
    )
    contact_email: str | None = Field(
        None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Contact e-mail sent as mailto (Crossref's polite pool, arXiv's etiquette)",
    )
    max_pdf_mb: float = Field(100.0, gt=0, le=2048, description="Largest PDF downloaded, in MB")

    @field_validator("arxiv_api_url", "arxiv_pdf_url", "crossref_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or any(
            c.isspace() or ord(c) < 32 for c in value
        ):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


def default_data_dir() -> Path:
    """The per-user data directory used when none is configured."""
    return platformdirs.user_data_path("tidyllm")


class Settings(BaseSettings):
    """Every TidyLLM setting. Build it with :func:`tidyllm.settings.load_settings`.

    pydantic-settings supplies typing and validation; the layers (arguments,
    environment, settings file, defaults) are merged by ``load_settings`` so
    that the origin of each value is known.
    """

    model_config = SettingsConfigDict(extra="forbid", validate_assignment=True)

    data_dir: Path = Field(default_factory=default_data_dir, description="Data directory")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "WARNING", description="Log level"
    )
    object_store: ObjectStoreSettings = Field(default_factory=ObjectStoreSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    mlflow: MlflowSettings = Field(default_factory=MlflowSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    embedder: EmbedderSettings = Field(default_factory=EmbedderSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    zones: list[ZoneSettings] = Field(
        default_factory=list, description="Drop zones (a list; see docs/dropzones.md)"
    )
    web: WebSettings = Field(default_factory=WebSettings)
    upload: UploadSettings = Field(default_factory=UploadSettings)
    papers: PapersSettings = Field(default_factory=PapersSettings)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_sources):  # type: ignore[override]
        # load_settings merges the layers itself (to record provenance); only init counts here.
        return (init_settings,)

    @field_validator("zones")
    @classmethod
    def _unique_zone_names(cls, zones: list[ZoneSettings]) -> list[ZoneSettings]:
        names = [z.name for z in zones]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"zone names must be unique; repeated: {', '.join(dupes)}")
        return zones


def _secret_fields() -> tuple[str, ...]:
    """Dotted paths of every secret field (for redaction and ``credentials check``)."""
    return tuple(
        f"{name}.{sub}"
        for name, info in Settings.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
        for sub, subinfo in info.annotation.model_fields.items()
        if subinfo.annotation == (SecretStr | None)
    )


SECRET_FIELDS = _secret_fields()
