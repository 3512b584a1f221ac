"""A generated source tree with a known set of violations, for tests and benchmarks.

``generate_tree(root, files, lines)`` writes a package ``synth`` of exactly
``files`` modules holding exactly ``lines`` lines, shaped like a legacy
application: most modules clean (classes, functions, docstrings, f-strings,
near-misses such as ``session.client("s3")`` on an unknown object or
``os.environ.get("HOME")``), about one in eight with one to three violations,
and a few large modules of ~3,000 lines. Everything is deterministic for a
given ``seed``. The returned :class:`TreeSpec` lists every violation as
``(path relative to root, line, rule)`` and whether ``tidyllm migrate``
rewrites it.

The legacy repository the issue measured (RudyMartin/TidyLLM at f210bcc:
945 files, 266,851 lines) is the default shape: ``generate_tree(root)``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

LEGACY_FILES = 945
LEGACY_LINES = 266_851


@dataclass(frozen=True, slots=True)
class Violation:
    """One planted violation: where ``check`` must report it, and whether migrate fixes it."""

    path: str
    line: int
    rule: str
    fixable: bool


@dataclass(slots=True)
class TreeSpec:
    """What was generated."""

    root: Path
    files: int = 0
    lines: int = 0
    violations: list[Violation] = field(default_factory=list)

    @property
    def expected(self) -> set[tuple[str, int, str]]:
        """Every (path, line, rule) that ``check`` must report."""
        return {(v.path, v.line, v.rule) for v in self.violations}

    @property
    def fixable(self) -> list[Violation]:
        """The violations ``migrate --write`` rewrites."""
        return [v for v in self.violations if v.fixable]

    @property
    def unfixable(self) -> list[Violation]:
        """The violations left (with a TODO) after ``migrate --write``."""
        return [v for v in self.violations if not v.fixable]


# A violation kind: imports it needs, its lines ({n} is a unique number), the
# 0-based offset of the reported line, the rule and whether migrate rewrites it.
_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], int, str, bool]] = {
    "s3_client": (
        ("import boto3",),
        (
            "def fetch_objects_{n}(bucket: str) -> list[str]:",
            '    s3 = boto3.client("s3")',
            "    pages = s3.list_objects_v2(Bucket=bucket)",
            '    return [item["Key"] for item in pages.get("Contents", [])]',
        ),
        1,
        "TL101",
        True,
    ),
    "bedrock": (
        ("import boto3",),
        (
            "def invoke_model_{n}(body: bytes) -> bytes:",
            '    runtime = boto3.client("bedrock-runtime", region_name="us-east-1")',
            '    return runtime.invoke_model(modelId="m", body=body)["body"].read()',
        ),
        1,
        "TL402",
        True,
    ),
    "mlflow": (
        ("from mlflow import MlflowClient",),
        (
            "def latest_runs_{n}(experiment: str) -> list[object]:",
            "    tracker = MlflowClient()",
            "    return tracker.search_runs([experiment], max_results=5)",
        ),
        1,
        "TL301",
        True,
    ),
    "pg_with": (
        ("import psycopg2",),
        (
            "def count_rows_{n}(dsn: str) -> int:",
            "    with psycopg2.connect(dsn) as conn:",
            "        cur = conn.cursor()",
            '        cur.execute("SELECT count(*) FROM documents")',
            "        return cur.fetchone()[0]",
        ),
        1,
        "TL201",
        True,
    ),
    "legacy": (
        ("from legacy_sessions import S3SessionManager",),
        (
            "def legacy_bucket_{n}() -> object:",
            "    manager = S3SessionManager()",
            "    return manager.get_s3_client()",
        ),
        -1,  # the import line
        "TL601",
        True,
    ),
    "pg_assign": (
        ("import psycopg2",),
        (
            "def open_connection_{n}(dsn: str) -> object:",
            "    conn = psycopg2.connect(dsn)",
            "    conn.autocommit = True",
            "    return conn",
        ),
        1,
        "TL201",
        False,
    ),
    "resource": (
        ("import boto3",),
        (
            "def bucket_names_{n}() -> list[str]:",
            '    s3r = boto3.resource("s3")',
            "    return [bucket.name for bucket in s3r.buckets.all()]",
        ),
        1,
        "TL101",
        False,
    ),
    "env_password": (
        ("import os",),
        (
            "def database_password_{n}() -> str:",
            '    return os.environ["POSTGRES_PASSWORD"]',
        ),
        1,
        "TL501",
        False,
    ),
    "openai": (
        ("import openai",),
        (
            "def chat_client_{n}() -> object:",
            "    return openai.OpenAI(timeout=30)",
        ),
        1,
        "TL401",
        False,
    ),
    "parquet": (
        (),
        (
            "def export_frame_{n}(frame: object) -> None:",
            '    frame.to_parquet("s3://analytics-bucket/exports/part-{n}.parquet")',
        ),
        1,
        "TL102",
        False,
    ),
    "secret": (
        (),
        (
            "def service_login_{n}() -> dict[str, str]:",
            '    service_password = "Rk8#qP2v-Lx9!w3{n}"',
            '    return {{"user": "svc", "password": service_password}}',
        ),
        1,
        "TL502",
        False,
    ),
    "reexport": (
        ("from synth.aws_compat import make_client",),
        (
            "def compat_client_{n}() -> object:",
            '    return make_client("s3")',
        ),
        1,
        "TL101",
        False,
    ),
}
_KIND_NAMES = tuple(_KINDS)

_CLEAN_IMPORTS = (
    "import json",
    "import logging",
    "import os",
    "from collections import defaultdict",
    "from dataclasses import dataclass, field",
    "from pathlib import Path",
)


def _clean_block(rng: random.Random, n: int) -> list[str]:
    """One clean function or class (10-45 lines), with a few near-misses."""
    # Near-misses (an upload helper mentioning boto3 and s3://) are rare, as in real code.
    kind = 2 if rng.random() < 0.02 else rng.choice((0, 1, 3, 4, 5))
    if kind == 0:
        return [
            "@dataclass",
            f"class Record{n}:",
            f'    """A record read from the export files (batch {n})."""',
            "",
            "    key: str",
            "    size: int = 0",
            "    tags: list[str] = field(default_factory=list)",
            "",
            "    def describe(self) -> str:",
            '        return f"{self.key} ({self.size} bytes, {len(self.tags)} tags)"',
            "",
            "    def to_json(self) -> str:",
            '        return json.dumps({"key": self.key, "size": self.size, "tags": self.tags})',
            "",
            "    @classmethod",
            f"    def parse(cls, raw: dict) -> Record{n}:",
            '        tags = [str(t) for t in raw.get("tags", []) if t]',
            '        return cls(str(raw["key"]), int(raw.get("size", 0)), tags)',
        ]
    if kind == 1:
        return [
            f"def summarise_{n}(rows: list[dict]) -> dict[str, int]:",
            '    """Total size per tag; rows without a key are skipped."""',
            "    totals: dict[str, int] = defaultdict(int)",
            "    for row in rows:",
            '        if not row.get("key"):',
            "            continue",
            '        for tag in row.get("tags", ()):',
            '            totals[tag] += int(row.get("size", 0))',
            "    return dict(sorted(totals.items()))",
        ]
    if kind == 2:
        return [
            f"class Uploader{n}:",
            '    """Uploads through a session handed in by the caller."""',
            "",
            "    def __init__(self, session: object, bucket: str) -> None:",
            "        self.session = session",
            "        self.bucket = bucket",
            "        self.log = logging.getLogger(__name__)",
            "",
            "    def client(self) -> object:",
            "        # not boto3: a method on an object of unknown type",
            '        return self.session.client("s3")',
            "",
            "    def upload(self, key: str, body: bytes) -> None:",
            '        self.log.info("uploading %s to s3://%s", key, self.bucket)',
            "        self.client().put_object(Bucket=self.bucket, Key=key, Body=body)",
            "",
            "    def upload_many(self, items: dict[str, bytes]) -> int:",
            "        count = 0",
            "        for key, body in sorted(items.items()):",
            "            try:",
            "                self.upload(key, body)",
            "            except OSError as exc:",
            '                self.log.warning("upload of %s failed: %s", key, exc)',
            "                continue",
            "            count += 1",
            "        return count",
        ]
    if kind == 3:
        return [
            f"def settings_{n}() -> dict[str, str]:",
            '    """Plain configuration; the home folder is not a credential."""',
            "    return {",
            '        "home": os.environ.get("HOME", "/tmp"),',
            '        "region": os.getenv("AWS_REGION", "us-east-1"),',
            f'        "cache": str(Path.home() / ".cache" / "synth{n}"),',
            "    }",
        ]
    if kind == 4:
        body = [
            f"def score_{n}(values: list[float], weights: list[float] | None = None) -> float:",
            '    """Weighted mean, with a floor."""',
            "    if not values:",
            "        return 0.0",
            "    weights = weights or [1.0] * len(values)",
            "    total = sum(v * w for v, w in zip(values, weights, strict=False))",
            "    norm = sum(weights) or 1.0",
            "    result = total / norm",
        ]
        for i in range(rng.randrange(4, 25)):
            body.append(f"    if result < {i}.5:")
            body.append(f"        result += {rng.randrange(1, 9)} / {i + 2}")
        body.append("    return max(result, 0.0)")
        return body
    return [
        f"def read_tree_{n}(folder: Path) -> list[str]:",
        '    """Every JSON file under ``folder`` (the old job read them from S3)."""',
        "    found = []",
        '    for path in sorted(folder.rglob("*.json")):',
        "        try:",
        '            data = json.loads(path.read_text(encoding="utf-8"))',
        "        except (OSError, ValueError):",
        "            continue",
        "        if isinstance(data, dict):",
        '            found.append(str(data.get("id", path.stem)))',
        "    return found",
    ]


def _file_sizes(rng: random.Random, files: int, lines: int) -> list[int]:
    large = [rng.randrange(2_800, 3_000) for _ in range(max(1, files // 180))]
    rest = files - len(large)
    budget = lines - sum(large)
    weights = [rng.lognormvariate(0, 0.6) for _ in range(rest)]
    scale = budget / sum(weights)
    sizes = [max(40, int(w * scale)) for w in weights]
    sizes += large
    # Exact total: spread the rounding difference over the small files.
    diff = lines - sum(sizes)
    i = 0
    while diff:
        step = 1 if diff > 0 else -1
        if sizes[i % rest] + step >= 40:
            sizes[i % rest] += step
            diff -= step
        i += 1
    rng.shuffle(sizes)
    return sizes


def generate_tree(
    root: Path, files: int = LEGACY_FILES, lines: int = LEGACY_LINES, seed: int = 14
) -> TreeSpec:
    """Write the ``synth`` package under ``root`` (exactly ``files`` files, ``lines`` lines)."""
    rng = random.Random(seed)
    spec = TreeSpec(root=root)
    fixed = {
        "synth/__init__.py": ['"""Generated package."""'],
        "synth/aws_compat.py": [
            '"""Re-exports a client factory: its users never spell boto3."""',
            "",
            "from boto3 import client as make_client",
            "",
            '__all__ = ["make_client"]',
        ],
    }
    modules = files - len(fixed)
    areas = 1
    while areas < -(-(modules - areas) // 60):
        areas += 1
    modules -= areas
    (root / "synth").mkdir(parents=True)
    for rel, content in fixed.items():
        (root / rel).write_text("\n".join(content) + "\n", encoding="utf-8")
    for area in range(areas):
        (root / "synth" / f"area{area}").mkdir()
        (root / "synth" / f"area{area}" / "__init__.py").write_text('"""Generated area."""\n')
    spec.files = len(fixed) + areas
    spec.lines = sum(len(v) for v in fixed.values()) + areas
    sizes = _file_sizes(rng, modules, lines - spec.lines)
    counter = 0
    for index, size in enumerate(sizes):
        rel = f"synth/area{index % areas}/mod{index}.py"
        kinds: list[str] = []
        if index % 8 == 3:
            kinds = [
                _KIND_NAMES[(index // 8 + k * 5) % len(_KIND_NAMES)] for k in range(1 + index % 3)
            ]
        imports: list[str] = list(_CLEAN_IMPORTS)
        for kind in kinds:
            for imp in _KINDS[kind][0]:
                if imp not in imports:
                    imports.append(imp)
        header = [
            f'"""Generated module {index}: records, uploads and reports."""',
            "",
            "from __future__ import annotations",
            "",
            *imports,
        ]
        body: list[str] = []
        snippets = [_KINDS[kind] for kind in kinds]
        reserve = sum(len(snippet[1]) + 2 for snippet in snippets)
        slot = 0
        for needs, snippet, offset, rule, fixable in snippets:
            clean = ["", "", *_clean_block(rng, index * 1000 + slot)]
            slot += 1
            if len(header) + len(body) + len(clean) + reserve <= size:
                body.extend(clean)
            counter += 1
            start = len(header) + len(body) + 3  # 1-based line of the snippet's first line
            line = header.index(needs[0]) + 1 if offset < 0 else start + offset
            spec.violations.append(Violation(rel, line, rule, fixable))
            body.extend(["", "", *(s.format(n=counter) for s in snippet)])
            reserve -= len(snippet) + 2
        while True:
            clean = ["", "", *_clean_block(rng, index * 1000 + slot)]
            slot += 1
            if len(header) + len(body) + len(clean) > size:
                break
            body.extend(clean)
        filler = size - len(header) - len(body)
        if filler < 0:
            raise AssertionError(f"violations did not fit in {rel} ({size} lines)")
        body.extend(f"# padding line {i}" for i in range(filler))
        (root / rel).write_text("\n".join(header + body) + "\n", encoding="utf-8")
        spec.files += 1
        spec.lines += len(header) + len(body)
    return spec
