"""The rule table: which APIs bypass the session manager, and what to use instead.

Everything here is *data* (names held in strings and tuples), so the checker
never flags this module: a string in a table is not a call. Rule ids are
short and stable; they are documented in ``docs/archcheck.md`` and must never
be renumbered, because baselines, suppressions and CI configs refer to them.
"""

from __future__ import annotations

import itertools
import math
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
            "TL403",
            "legacy OpenAI module-level API (global key/base or `openai.X.create`)",
            "UnifiedSessionManager().llm() (credentials come from settings)",
        ),
        Rule(
            "TL404",
            "DSPy language model client created outside the session manager",
            "UnifiedSessionManager().llm()",
        ),
        Rule(
            "TL405",
            "LiteLLM call outside the session manager",
            "UnifiedSessionManager().llm()",
        ),
        Rule(
            "TL406",
            "raw HTTP call to an LLM provider",
            "UnifiedSessionManager().llm() (its client already targets the configured endpoint)",
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
        Rule(
            "TL602",
            "session manager imported from the legacy official module",
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
    # the pre-1.0 OpenAI module-level API
    **{
        f"openai.{resource}.{method}": "TL403"
        for resource in (
            "ChatCompletion",
            "Completion",
            "Embedding",
            "Image",
            "Moderation",
            "Edit",
            "Audio",
            "FineTune",
        )
        for method in ("create", "acreate")
    },
    # DSPy language models
    **{
        f"dspy.{name}": "TL404"
        for name in (
            "LM",
            "OpenAI",
            "AzureOpenAI",
            "Anthropic",
            "Claude",
            "Bedrock",
            "AWSAnthropic",
            "AWSMistral",
            "Cohere",
            "Google",
            "GoogleVertexAI",
            "HFClientTGI",
            "HFClientVLLM",
            "HFModel",
            "Together",
            "OllamaLocal",
            "Databricks",
        )
    },
    # LiteLLM calls and routers
    **{
        f"litellm.{name}": "TL405"
        for name in (
            "completion",
            "acompletion",
            "text_completion",
            "atext_completion",
            "embedding",
            "aembedding",
            "image_generation",
            "transcription",
            "speech",
            "batch_completion",
            "Router",
        )
    },
}

# `openai.<attr> = ...`: the pre-1.0 module-level configuration (TL403).
MODULE_STATE_RULES: dict[str, str] = {
    f"openai.{attr}": "TL403"
    for attr in ("api_key", "api_base", "api_type", "api_version", "organization", "api_key_path")
}

# Raw HTTP calls whose URL points at an LLM provider (TL406). The URL is the
# first argument or ``url=`` / ``base_url=`` (a literal, an f-string, or a name
# bound to one in the same module).
HTTP_CALLS: frozenset[str] = frozenset(
    {
        *(f"requests.{m}" for m in ("get", "post", "put", "patch", "request")),
        *(f"requests.api.{m}" for m in ("get", "post", "put", "patch", "request")),
        *(f"httpx.{m}" for m in ("get", "post", "put", "patch", "request", "stream")),
        "httpx.Client",
        "httpx.AsyncClient",
        "aiohttp.request",
        "urllib.request.urlopen",
        "urllib.request.Request",
    }
)
LLM_HOST_RE = re.compile(
    r"^(?:https?://)?(?:[^/@]*@)?(?:api\.openai\.com|[\w-]+\.openai\.azure\.com|"
    r"generativelanguage\.googleapis\.com|api-inference\.huggingface\.co|"
    r"router\.huggingface\.co|api\.anthropic\.com|bedrock-runtime(?:-fips)?\.[\w.{}-]+|"
    r"api\.mistral\.ai|api\.cohere\.(?:ai|com)|api\.groq\.com|api\.together\.xyz)"
    r"(?::\d+)?(?:[/?#]|$)",
    re.IGNORECASE,
)

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
        "HF_TOKEN",
        "HUGGINGFACE_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
    }
)
CREDENTIAL_ENV_SUFFIX_RE = re.compile(
    r"_(PASSWORD|PASSWD|SECRET|SECRET_KEY|API_KEY|SECRET_ACCESS_KEY|ACCESS_TOKEN|AUTH_TOKEN|"
    r"API_TOKEN|LLM_KEY)$"
)


def is_credential_env(name: str | None) -> bool:
    """Whether an environment variable name holds a credential."""
    return name is not None and (
        name in CREDENTIAL_ENV_VARS or bool(CREDENTIAL_ENV_SUFFIX_RE.search(name))
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
PLACEHOLDER_RE = re.compile(
    r"^(?:|\{.*\}|\$\{?\w+\}?|%s|%\(\w+\)s|<[^>]*>|\[[^\]]*\]|[*x•.#\-]+|\.\.\.)$",
    re.IGNORECASE,
)
# Why these allow-lists (TL502 precision, issue 14): a value is not reported when
# it cannot be a working credential -- AWS's documented example keys (public,
# and refused by AWS), keys whose random part is a run or a repetition
# (``AKIAXXXXXXXXXXXXXXXX``), regular expressions (the patterns of a secret
# scanner), field names and labels (``API_KEY = "api_key"``), placeholder words
# (``password``, ``changeme``, ``your-api-key``) and connection-URL templates in
# text shown to users (``e.g. postgresql://user:password@localhost/db``).
# AWS's documentation keys: public, never valid. Any value ending in EXAMPLE /
# EXAMPLEKEY is AWS's documented convention for example credentials.
KNOWN_EXAMPLE_SECRETS: frozenset[str] = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "AKIAI44QH8DHBEXAMPLE",
        "ASIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    }
)
_EXAMPLE_SUFFIX_RE = re.compile(r"EXAMPLE(?:KEY)?$")
# Regular-expression syntax that never occurs in a real credential by accident.
REGEX_LIKE_RE = re.compile(
    r"\\[sSdDwWbB]|\[\^|\[[A-Za-z0-9]-[A-Za-z0-9]|\(\?[:iP!=<]|\]\{\d|\]\+|\]\*|"
    r"\.\*|\.\+|\{\d+(?:,\d*)?\}"
)
_PLACEHOLDER_WORDS: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pw",
        "pwd",
        "secret",
        "token",
        "key",
        "apikey",
        "secretkey",
        "accesskey",
        "changeme",
        "changeit",
        "replaceme",
        "mypassword",
        "mysecret",
        "dbpassword",
        "userpassword",
        "examplepassword",
        "placeholder",
        "redacted",
        "dummy",
        "fake",
        "none",
        "null",
        "todo",
        "tbd",
        "xxx",
    }
)
_PLACEHOLDER_MARKERS = ("changeme", "example", "placeholder", "dummy", "redacted")
_LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_. ][A-Za-z0-9]+)*$")
_LABEL_WORDS: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "key",
        "apikey",
        "token",
        "credential",
        "credentials",
        "auth",
        "authorization",
    }
)
_PLACEHOLDER_HOSTS = re.compile(
    r"^(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|host|hostname|your[-_]?host|db[-_]?host|"
    r"server|example\.(?:com|org|net)|[\w.-]*\.example(?:\.com)?|\{\})(?::\w+)?$",
    re.IGNORECASE,
)
_DSN_PARTS_RE = re.compile(
    r"[a-z][a-z0-9+.\-]*://([^:/@\s]+):([^@/\s]+)@([^/\s?#]*)", re.IGNORECASE
)


def _normalised(value: str) -> str:
    return re.sub(r"[-_. <>\[\]{}()'\"]", "", value).lower()


def _is_placeholder_word(norm: str) -> bool:
    return (
        not norm
        or norm in _PLACEHOLDER_WORDS
        or norm.startswith("your")
        or norm.endswith("here")
        or any(m in norm for m in _PLACEHOLDER_MARKERS)
    )


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def _is_run(text: str) -> bool:
    """``ABCDEFGH...``/``12345678...`` or mostly one repeated character."""
    if len(set(text)) <= max(2, len(text) // 4):
        return True
    steps = sum(1 for a, b in itertools.pairwise(text) if ord(b) - ord(a) == 1)
    return steps >= (len(text) - 1) * 0.8


def is_fake_secret(value: str, name: str | None = None) -> bool:
    """Whether a literal assigned/passed/keyed as a secret cannot be a real one."""
    if PLACEHOLDER_RE.match(value) or value in KNOWN_EXAMPLE_SECRETS:
        return True
    if _EXAMPLE_SUFFIX_RE.search(value) or REGEX_LIKE_RE.search(value):
        return True
    if value.endswith(("...", "\u2026")):
        return True  # elided for display: "sk-..."
    norm = _normalised(value)
    if _is_placeholder_word(norm):
        return True
    if name is not None and norm == _normalised(name):
        return True  # API_KEY = "api_key": an enum value / field name
    if _LABEL_RE.match(value):
        tokens = {t.lower() for t in re.split(r"[-_. ]", value)}
        if tokens & _LABEL_WORDS:
            return True  # a field name or label ("x-api-key", "db.password")
    return len(norm) >= 6 and _is_run(norm)


def real_aws_key_ids(text: str) -> bool:
    """Whether ``text`` holds an AWS access key id that is not a placeholder/example."""
    for match in AWS_KEY_ID_RE.finditer(text):
        key = match.group(0)
        body = key[4:]
        if key in KNOWN_EXAMPLE_SECRETS or _EXAMPLE_SUFFIX_RE.search(key):
            continue
        if "XXXX" in body.upper() or _is_run(body) or entropy(body) < 2.5:
            continue
        if any(word in body for word in ("EXAMPLE", "SAMPLE", "DUMMY")):
            continue  # a placeholder word: never part of a random key by chance
        return True
    return False


def dsn_has_real_password(text: str) -> bool:
    """Whether a connection URL in ``text`` embeds a password that looks real."""
    if REGEX_LIKE_RE.search(text):
        return False  # a pattern (a secret scanner's), not a URL
    shown_to_users = any(c.isspace() for c in text.strip())
    for match in _DSN_PARTS_RE.finditer(text):
        _user, password, host = match.groups()
        if "{}" in password or PLACEHOLDER_RE.match(password):
            continue
        if _is_placeholder_word(_normalised(password)):
            continue
        if shown_to_users and _PLACEHOLDER_HOSTS.match(host):
            continue  # a template in help text: "e.g. postgresql://u:pw@localhost/db"
        return True
    return False


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
        # named or used by the legacy migration map's files
        "UnifiedServiceManager",
        "TidyLLMServices",
        "get_s3_manager",
        "get_database_manager",
        "get_unified_service_manager",
        "get_global_session_manager",
        "WorkingS3DropZones",
        "FixedS3DropZones",
        "SimpleFixedS3DropZones",
        "EnhancedDropZones",
    }
)

# The legacy *official* manager module: allowed by default (it is the old
# manager itself, not a caller), and importing the manager from it is TL602,
# rewritten to ``from tidyllm import UnifiedSessionManager``.
LEGACY_OFFICIAL_MODULES: tuple[str, ...] = ("start_unified_sessions", "*.start_unified_sessions")
LEGACY_OFFICIAL_NAMES: frozenset[str] = frozenset({"UnifiedSessionManager"})


def is_legacy_official_import(qualname: str) -> bool:
    """``<...>.start_unified_sessions.UnifiedSessionManager`` (any package path)."""
    module, _, name = qualname.rpartition(".")
    return name in LEGACY_OFFICIAL_NAMES and module.rpartition(".")[2] == "start_unified_sessions"


DYNAMIC_IMPORTERS: frozenset[str] = frozenset({"importlib.import_module", "__import__"})
