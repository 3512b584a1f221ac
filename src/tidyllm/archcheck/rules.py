"""The rule table: which APIs bypass the session manager, and what to use instead.

Everything here is *data* (names held in strings and tuples), so the checker
never flags this module: a string in a table is not a call. Rule ids are
short and stable; they are documented in ``docs/archcheck.md`` and must never
be renumbered, because baselines, suppressions and CI configs refer to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: a stable id, a one-line title and the suggested replacement."""

    id: str
    title: str
    replacement: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "TL000", "file could not be read or parsed", "fix the syntax error or exclude the file"
        ),
        Rule("TL001", "suppression comment without a reason", "write `# tidyllm: allow[RULE] why`"),
        Rule(
            "TL101",
            "AWS client, resource or session created outside the session manager",
            "UnifiedSessionManager().get_s3_client() / .object_store()",
        ),
        Rule(
            "TL102",
            "pandas/pyarrow/polars reading or writing an s3:// URL directly",
            "read/write bytes through UnifiedSessionManager().object_store()",
        ),
        Rule(
            "TL201",
            "database connection opened outside the session manager",
            "with UnifiedSessionManager().get_postgres_connection() as conn: ...",
        ),
        Rule(
            "TL202",
            "database pool or engine created outside the session manager",
            "UnifiedSessionManager().db() (the shared psycopg_pool ConnectionPool)",
        ),
        Rule(
            "TL301",
            "MLflow client created outside the session manager",
            "UnifiedSessionManager().get_mlflow_client()",
        ),
        Rule(
            "TL302",
            "MLflow global state changed outside the session manager",
            "configure the tracking URI in tidyllm settings; "
            "use UnifiedSessionManager().get_mlflow_client()",
        ),
        Rule(
            "TL401",
            "LLM SDK client created outside the session manager",
            "UnifiedSessionManager().llm()",
        ),
        Rule(
            "TL402",
            "Bedrock client created outside the session manager",
            "UnifiedSessionManager().get_bedrock_client() / .llm()",
        ),
        Rule(
            "TL501",
            "credential environment variable read directly",
            "let tidyllm settings / the credential store supply it via UnifiedSessionManager()",
        ),
        Rule(
            "TL502",
            "hard-coded secret",
            "store it in the tidyllm credential store or the environment",
        ),
        Rule(
            "TL601",
            "import of a legacy session/database/drop-zone manager",
            "from tidyllm import UnifiedSessionManager",
        ),
    )
}

# Fully qualified callables -> rule id. Matching is on the *resolved* name, so
# aliases, re-exports and dynamic imports all end up here.
CALL_RULES: dict[str, str] = {
    # AWS
    "boto3.client": "TL101",
    "boto3.resource": "TL101",
    "boto3.Session": "TL101",
    "boto3.session.Session": "TL101",
    "boto3.setup_default_session": "TL101",
    "botocore.session.get_session": "TL101",
    "botocore.session.Session": "TL101",
    "aioboto3.Session": "TL101",
    "aioboto3.session.Session": "TL101",
    "aioboto3.client": "TL101",
    "aioboto3.resource": "TL101",
    "s3fs.S3FileSystem": "TL101",
    "s3fs.core.S3FileSystem": "TL101",
    "pyarrow.fs.S3FileSystem": "TL101",
    # databases
    "psycopg2.connect": "TL201",
    "psycopg.connect": "TL201",
    "psycopg.Connection.connect": "TL201",
    "psycopg.AsyncConnection.connect": "TL201",
    "asyncpg.connect": "TL201",
    "pg8000.connect": "TL201",
    "psycopg_pool.ConnectionPool": "TL202",
    "psycopg_pool.AsyncConnectionPool": "TL202",
    "psycopg_pool.NullConnectionPool": "TL202",
    "psycopg_pool.AsyncNullConnectionPool": "TL202",
    "psycopg2.pool.SimpleConnectionPool": "TL202",
    "psycopg2.pool.ThreadedConnectionPool": "TL202",
    "psycopg2.pool.AbstractConnectionPool": "TL202",
    "asyncpg.create_pool": "TL202",
    # MLflow
    "mlflow.MlflowClient": "TL301",
    "mlflow.client.MlflowClient": "TL301",
    "mlflow.tracking.MlflowClient": "TL301",
    "mlflow.tracking.client.MlflowClient": "TL301",
    "mlflow.set_tracking_uri": "TL302",
    "mlflow.set_registry_uri": "TL302",
    "mlflow.tracking.set_tracking_uri": "TL302",
    # LLM SDKs
    "openai.OpenAI": "TL401",
    "openai.AsyncOpenAI": "TL401",
    "openai.AzureOpenAI": "TL401",
    "openai.AsyncAzureOpenAI": "TL401",
    "anthropic.Anthropic": "TL401",
    "anthropic.AsyncAnthropic": "TL401",
    "anthropic.AnthropicBedrock": "TL402",
    "anthropic.AsyncAnthropicBedrock": "TL402",
}

# SQLAlchemy engines are only a violation when they point at PostgreSQL.
ENGINE_CALLS: frozenset[str] = frozenset(
    {
        "sqlalchemy.create_engine",
        "sqlalchemy.engine.create_engine",
        "sqlalchemy.ext.asyncio.create_async_engine",
    }
)
POSTGRES_URL_RE = re.compile(r"^postgres(?:ql)?(?:\+\w+)?://", re.IGNORECASE)

# boto3-style `client("<service>")` calls whose service name selects a rule.
BEDROCK_SERVICES: frozenset[str] = frozenset(
    {"bedrock", "bedrock-runtime", "bedrock-agent", "bedrock-agent-runtime"}
)
CLIENT_FACTORIES: frozenset[str] = frozenset(
    {"boto3.client", "boto3.resource", "aioboto3.client", "aioboto3.resource"}
)

# Dataframe libraries: any call into these modules with an s3:// argument, and
# these method names on any object (``df.to_parquet("s3://...")``).
S3_URL_MODULES: tuple[str, ...] = ("pandas.", "pyarrow.", "polars.", "dask.dataframe.")
S3_URL_METHODS: frozenset[str] = frozenset(
    {
        "to_csv",
        "to_parquet",
        "to_json",
        "to_excel",
        "to_feather",
        "to_pickle",
        "to_orc",
        "write_parquet",
        "write_csv",
        "write_ndjson",
    }
)
S3_URL_RE = re.compile(r"^s3[an]?://", re.IGNORECASE)

# Credential environment variables (exact names) and name endings.
CREDENTIAL_ENV_VARS: frozenset[str] = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
        "POSTGRES_PASSWORD",
        "POSTGRES_URL",
        "POSTGRES_DSN",
        "PGPASSWORD",
        "DATABASE_URL",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_TOKEN",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "AZURE_OPENAI_API_KEY",
    }
)
CREDENTIAL_ENV_SUFFIX_RE = re.compile(
    r"_(PASSWORD|PASSWD|SECRET|SECRET_KEY|API_KEY|SECRET_ACCESS_KEY|ACCESS_TOKEN|AUTH_TOKEN)$"
)
ENV_READ_FUNCS: frozenset[str] = frozenset(
    {"os.getenv", "os.environ.get", "os.environ.pop", "os.environ.setdefault", "os.getenvb"}
)
ENV_MAPPINGS: frozenset[str] = frozenset({"os.environ", "os.environb"})

# Hard-coded secrets.
AWS_KEY_ID_RE = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")
DSN_PASSWORD_RE = re.compile(r"[a-z][a-z0-9+.\-]*://[^:/@\s]+:([^@/\s]+)@", re.IGNORECASE)
SECRET_NAME_RE = re.compile(
    r"(?:^|_)(password|passwd|pwd|secret|secret_key|api_key|apikey|access_key|"
    r"secret_access_key|client_secret|auth_token|access_token)$",
    re.IGNORECASE,
)
# Values that are clearly placeholders, templates or masks, not secrets.
PLACEHOLDER_RE = re.compile(r"^(?:|\{.*\}|\$\{?\w+\}?|%s|%\(\w+\)s|<[^>]*>|[*x•]+)$", re.IGNORECASE)

# Names of the legacy managers; importing any of them is TL601.
LEGACY_NAMES: frozenset[str] = frozenset(
    {
        "S3SessionManager",
        "S3Manager",
        "DatabaseManager",
        "start_unified_sessions",
        "DropZoneManager",
        "S3DropZoneManager",
        "DropZoneWatcher",
        "DropZoneProcessor",
        "UnifiedDropZoneManager",
        "SimpleDropZone",
    }
)

DYNAMIC_IMPORTERS: frozenset[str] = frozenset({"importlib.import_module", "__import__"})
