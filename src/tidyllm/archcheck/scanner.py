"""One AST pass over one file: collect bindings, candidate sites and literal findings.

Name resolution is split in two so each file is parsed exactly once. This
pass records *raw* chains (``"b.client"``, where ``b`` is a local name, or
``"!boto3.client"``, where ``!`` marks an absolute module path); the checker
resolves them afterwards, once every file's bindings are known, which is what
makes re-exports through local modules visible. The result is plain data so
it can cross a process boundary.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import ClassVar

from tidyllm.archcheck import rules

# Keyword arguments that carry the "first argument" for our purposes.
_ARG_KEYWORDS = frozenset(
    {"service_name", "url", "base_url", "path", "filepath_or_buffer", "source", "where"}
)
_STRING_ENV_NAME = rules.re.compile(r"^[A-Z][A-Z0-9_]*$")
_STATE_ATTRS = frozenset(q.rpartition(".")[2] for q in rules.MODULE_STATE_RULES)


@dataclass(slots=True)
class Site:
    """A place whose verdict depends on what a chain resolves to."""

    kind: str  # "call" | "subscript" | "import" | "ref" | "store"
    chain: str
    line: int
    col: int
    arg0: str | None = None
    s3_arg: bool = False


@dataclass(slots=True)
class FileScan:
    """Everything the checker needs from one file."""

    module: str
    bindings: dict[str, str] = field(default_factory=dict)
    star_imports: list[str] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    # Findings decided in this pass: (line, col, rule, message).
    direct: list[tuple[int, int, str, str]] = field(default_factory=list)


def _string_value(node: ast.AST) -> str | None:
    """The text of a string literal; an f-string becomes a template with ``{}`` holes."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                parts.append("{}")
        return "".join(parts)
    return None


def _is_placeholder(value: str, name: str | None = None) -> bool:
    return bool(_STRING_ENV_NAME.match(value)) or rules.is_fake_secret(value, name)


# Children that never hold anything a rule looks at (``ctx=Load()``, operators).
_SKIP_TYPES = (ast.expr_context, ast.operator, ast.boolop, ast.cmpop, ast.unaryop)


class _FastVisitor(ast.NodeVisitor):
    """``ast.NodeVisitor`` with the same depth-first order, ~2x faster.

    The handler of each node class is looked up once, and the fields of each
    class once, leaving out ``ctx`` and operator children (leaves no rule
    reads). Override ``visit_X`` methods exactly as with ``ast.NodeVisitor``.
    """

    _handlers: ClassVar[dict[type, str]]
    _child_fields: ClassVar[dict[type, tuple[str, ...]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = {}

    def visit(self, node: ast.AST) -> None:
        cls = type(node)
        name = self._handlers.get(cls)
        if name is None:
            name = "visit_" + cls.__name__
            if not hasattr(self, name):
                name = "generic_visit"
            self._handlers[cls] = name
        getattr(self, name)(node)

    def generic_visit(self, node: ast.AST) -> None:
        cls = type(node)
        fields = _FastVisitor._child_fields.get(cls)
        if fields is None:
            fields = tuple(f for f in cls._fields if f != "ctx" and f != "op")
            _FastVisitor._child_fields[cls] = fields
        for field_name in fields:
            value = getattr(node, field_name, None)
            if value is None:
                continue
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast.AST) and not isinstance(item, _SKIP_TYPES):
                        self.visit(item)
            elif isinstance(value, ast.AST) and not isinstance(value, _SKIP_TYPES):
                self.visit(value)


class Scanner(_FastVisitor):
    """The single pass. ``legacy_names`` comes from configuration."""

    def __init__(self, module: str, is_package: bool, legacy_names: frozenset[str]) -> None:
        self.scan = FileScan(module=module)
        self._package = module if is_package else module.rpartition(".")[0]
        self._legacy = legacy_names
        self._docstrings: set[int] = set()
        # Names bound to a string literal (or a loop over literal strings), so
        # `create_engine(url)` / `requests.post(URL)` / `getenv(name)` see it.
        self._strings: dict[str, str] = {}

    # ----- chains -------------------------------------------------------
    def chain(self, node: ast.AST) -> str | None:
        """The raw dotted chain for a Name/Attribute expression, or None."""
        attrs: list[str] = []
        while isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            root = node.id
        elif isinstance(node, ast.Call):
            target = self._dynamic_import_target(node)
            if target is None:
                return None
            root = "!" + target
        else:
            return None
        attrs.append(root)
        return ".".join(reversed(attrs))

    def _dynamic_import_target(self, call: ast.Call) -> str | None:
        """``importlib.import_module("x")`` / ``__import__("x")`` with a constant argument."""
        if not call.args or not isinstance(call.func, ast.Name | ast.Attribute):
            return None
        name = _string_value(call.args[0])
        if name is None or "{}" in name:
            return None
        func = self.chain(call.func)
        if func is None:
            return None
        resolved = self.resolve_now(func)
        if resolved not in rules.DYNAMIC_IMPORTERS:
            return None
        if name.startswith("."):
            package = _string_value(call.args[1]) if len(call.args) > 1 else self._package
            level = len(name) - len(name.lstrip("."))
            base = self._relative_base(level, package or "")
            name = f"{base}.{name.lstrip('.')}" if base else name.lstrip(".")
        if resolved == "__import__":
            # __import__("a.b") returns package ``a`` unless fromlist is given.
            has_fromlist = len(call.args) > 3 or any(k.arg == "fromlist" for k in call.keywords)
            if not has_fromlist:
                name = name.split(".")[0]
        return name

    def resolve_now(self, chain: str) -> str | None:
        """Best-effort resolution with the bindings seen so far (for dynamic imports)."""
        for _ in range(20):
            if chain.startswith("!"):
                return chain[1:]
            root, _, rest = chain.partition(".")
            bound = self.scan.bindings.get(root)
            if bound is None:
                return chain if root == "__import__" else None
            chain = f"{bound}.{rest}" if rest else bound
        return None

    def _relative_base(self, level: int, package: str) -> str:
        parts = package.split(".") if package else []
        if level > 1:
            parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
        return ".".join(parts)

    # ----- imports and aliases -----------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.scan.bindings[alias.asname] = "!" + alias.name
            else:
                root = alias.name.split(".")[0]
                self.scan.bindings[root] = "!" + root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self._relative_base(node.level, self._package)
            module = ".".join(p for p in (base, node.module or "") if p)
        else:
            module = node.module or ""
        for alias in node.names:
            if alias.name == "*":
                self.scan.star_imports.append(module)
                continue
            target = f"{module}.{alias.name}" if module else alias.name
            self.scan.bindings[alias.asname or alias.name] = "!" + target
            self.scan.sites.append(Site("import", "!" + target, alias.lineno, alias.col_offset))

    def _bind_alias(self, target: ast.AST, value: ast.AST) -> None:
        if isinstance(target, ast.Name) and isinstance(value, ast.Name | ast.Attribute | ast.Call):
            # For a Call, ``chain`` is only set for a dynamic import of a constant name.
            chain = self.chain(value)
            if chain is not None:
                self.scan.bindings[target.id] = chain

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind_alias(target, node.value)
            self._secret_assignment(target, node.value)
            self._bind_string(target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._bind_alias(node.target, node.value)
            self._secret_assignment(node.target, node.value)
            self._bind_string(node.target, node.value)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bind_alias(node.target, node.value)
        self.generic_visit(node)

    def _bind_string(self, target: ast.AST, value: ast.AST) -> None:
        if isinstance(target, ast.Attribute) and target.attr in _STATE_ATTRS:
            chain = self.chain(target)
            if chain is not None:  # `openai.api_key = ...`
                self.scan.sites.append(Site("store", chain, target.lineno, target.col_offset))
        if not isinstance(target, ast.Name):
            return
        text = self._text(value)
        if text is not None:
            self._strings[target.id] = text
        elif isinstance(value, ast.List | ast.Tuple | ast.Set):
            strings = [t for t in map(_string_value, value.elts) if t is not None]
            if strings and len(strings) == len(value.elts):
                # a list of names: remember a credential one, for `for n in NAMES`
                self._strings["*" + target.id] = next(
                    (t for t in strings if rules.is_credential_env(t)), strings[0]
                )

    def _text(self, node: ast.AST) -> str | None:
        """A string literal, an f-string whose holes are bound names, or such a name."""
        if isinstance(node, ast.Name):
            return self._strings.get(node.id)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
                    parts.append(self._strings.get(value.value.id, "{}"))
                else:
                    parts.append("{}")
            return "".join(parts)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
        ):
            return _string_value(node.func.value)  # "postgresql://{}:{}@{}".format(...)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._text(node.left), self._text(node.right)
            if left is not None or right is not None:  # BASE + "/chat/completions"
                return (left or "{}") + (right or "{}")
            return None
        return _string_value(node)

    def _loop_strings(self, target: ast.AST, iterable: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self._strings.pop(target.id, None)  # rebound by the loop, whatever it held
        if not isinstance(target, ast.Name):
            return
        if isinstance(iterable, ast.Name):
            text = self._strings.get("*" + iterable.id)
        elif isinstance(iterable, ast.List | ast.Tuple | ast.Set):
            strings = [t for t in map(_string_value, iterable.elts) if t is not None]
            text = next((t for t in strings if rules.is_credential_env(t)), None)
        else:
            text = None
        if text is not None:
            self._strings[target.id] = text

    def visit_For(self, node: ast.For) -> None:
        self._loop_strings(node.target, node.iter)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # A parameter shadows a module-level string of the same name while in the body.
        args = node.args
        params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
        saved = {p: self._strings.pop(p) for p in params if p in self._strings}
        self.generic_visit(node)
        for p in params:
            self._strings.pop(p, None)
        self._strings.update(saved)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self._loop_strings(node.target, node.iter)
        self.generic_visit(node)

    def _visit_comprehension_first(self, node: ast.AST) -> None:
        # `{n: getenv(n) for n in NAMES}`: bind the loop names before the element.
        for generator in node.generators:  # type: ignore[attr-defined]
            self.visit(generator)
        for name in ("key", "value", "elt"):
            child = getattr(node, name, None)
            if child is not None:
                self.visit(child)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = (
        _visit_comprehension_first
    )

    # ----- sites --------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        chain = self.chain(node.func)
        arg0 = None
        if node.args:
            arg0 = self._text(node.args[0])
            if len(node.args) > 1 and chain is not None and chain.rpartition(".")[2] == "request":
                arg0 = self._text(node.args[1])  # requests.request("POST", url)
        s3_arg = False
        for arg in node.args:
            text = _string_value(arg)
            if text is not None and rules.S3_URL_RE.match(text):
                s3_arg = True
                break
        for kw in node.keywords:
            text = _string_value(kw.value)
            if text is None:
                continue
            if arg0 is None and kw.arg in _ARG_KEYWORDS:
                arg0 = self._text(kw.value)
            if rules.S3_URL_RE.match(text):
                s3_arg = True
            if kw.arg and rules.SECRET_NAME_RE.search(kw.arg) and not _is_placeholder(text, kw.arg):
                self._direct(kw.value, "TL502", f"hard-coded secret in argument `{kw.arg}`")
        if chain is not None:
            self.scan.sites.append(
                Site("call", chain, node.lineno, node.col_offset, arg0=arg0, s3_arg=s3_arg)
            )
        elif (
            s3_arg
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in rules.S3_URL_METHODS
        ):
            self._direct(node, "TL102", f"`.{node.func.attr}()` writes an s3:// URL directly")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load):
            key = self._text(node.slice)
            if key is not None:
                chain = self.chain(node.value)
                if chain is not None:
                    self.scan.sites.append(
                        Site("subscript", chain, node.lineno, node.col_offset, arg0=key)
                    )
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in self._legacy and isinstance(node.ctx, ast.Load):
            chain = self.chain(node)
            if chain is not None:
                self.scan.sites.append(Site("ref", chain, node.lineno, node.col_offset))
        self.generic_visit(node)

    # ----- literals -----------------------------------------------------
    def _direct(self, node: ast.AST, rule: str, message: str) -> None:
        self.scan.direct.append((node.lineno, node.col_offset, rule, message))

    def _secret_assignment(self, target: ast.AST, value: ast.AST) -> None:
        name = None
        if isinstance(target, ast.Name):
            name = target.id
        elif isinstance(target, ast.Attribute):
            name = target.attr
        if name is None or not rules.SECRET_NAME_RE.search(name):
            return
        text = _string_value(value)
        if text is not None and not _is_placeholder(text, name):
            self._direct(value, "TL502", f"hard-coded secret assigned to `{name}`")

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                continue
            key_text = _string_value(key)
            if key_text and rules.SECRET_NAME_RE.search(key_text):
                text = _string_value(value)
                if text is not None and not _is_placeholder(text, key_text):
                    self._direct(value, "TL502", f"hard-coded secret under key `{key_text}`")
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            self._docstrings.add(id(node.value))  # docs, not values: not secrets
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and id(node) not in self._docstrings:
            self._check_secret_text(node, node.value)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        template = _string_value(node) or ""
        if rules.dsn_has_real_password(template):
            self._direct(node, "TL502", "password embedded in a connection URL")
        for value in node.values:
            if not isinstance(value, ast.Constant):
                self.visit(value)
            elif rules.real_aws_key_ids(value.value):
                self._direct(node, "TL502", "hard-coded AWS access key id")

    def _check_secret_text(self, node: ast.AST, text: str) -> None:
        if len(text) < 8:
            return
        if rules.real_aws_key_ids(text):
            self._direct(node, "TL502", "hard-coded AWS access key id")
        if rules.dsn_has_real_password(text):
            self._direct(node, "TL502", "password embedded in a connection URL")


def scan_source(
    source: str | bytes,
    filename: str,
    module: str,
    is_package: bool,
    legacy_names: frozenset[str] = rules.LEGACY_NAMES,
) -> FileScan:
    """Parse ``source`` and run the single pass. Raises SyntaxError/ValueError on bad input."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:  # maybe newer than this interpreter: LibCST's grammar decides
        from tidyllm.archcheck.newsyntax import parse_newer

        tree = parse_newer(source, filename, exc)
    scanner = Scanner(module, is_package, legacy_names)
    scanner.visit(tree)
    return scanner.scan
