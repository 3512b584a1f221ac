"""The LibCST codemod behind ``tidyllm migrate``.

Safe rewrites (everything else gets a ``# TODO(tidyllm): ...`` comment on the
statement, and is left as it was):

* ``boto3.client("s3", ...)`` -> ``UnifiedSessionManager().get_s3_client()``
* ``boto3.client("bedrock-runtime", ...)`` -> ``UnifiedSessionManager().get_bedrock_client()``
* ``MlflowClient(...)`` -> ``UnifiedSessionManager().get_mlflow_client()``
* ``with psycopg2.connect(...) as conn:`` (and ``psycopg.connect``) ->
  ``with UnifiedSessionManager().get_postgres_connection() as conn:``. Only the
  ``with`` form is rewritten: ``get_postgres_connection()`` is a context
  manager lending a pooled connection, so ``conn = psycopg2.connect(...)``
  has no drop-in equivalent and gets a TODO instead.
* legacy manager imports (``S3SessionManager``, ``DatabaseManager``, ...) ->
  ``UnifiedSessionManager`` (the import is replaced and every use renamed;
  a TODO asks to check the methods called on it).
* ``from scripts.start_unified_sessions import UnifiedSessionManager`` (the
  legacy official module, any package path) -> ``from tidyllm import
  UnifiedSessionManager`` (TL602).

Every other finding ``tidyllm check`` makes in the file (hard-coded secrets,
``os.environ['X']``, ``getenv(f"{p}_PASSWORD")``, ``openai.api_key = ...``, ...)
gets a ``# TODO(tidyllm): RULE ...`` on its statement, so nothing the checker
reports is left without either a rewrite or a TODO.

Arguments of rewritten calls (regions, endpoints, DSNs, credentials) are
dropped because the session manager takes them from settings; the TODO names
the dropped keywords (never their values, which may be secrets). The import
``from tidyllm import UnifiedSessionManager`` is added once by LibCST's
``AddImportsVisitor``, after any docstring, shebang, encoding line and
``__future__`` imports, and never twice. Imports the rewrites left unused are
removed, in functions too (unless they carry a comment).
"""

from __future__ import annotations

import re

import libcst as cst
import libcst.helpers
import libcst.matchers as m
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import ParentNodeProvider, PositionProvider, QualifiedNameProvider

from tidyllm.archcheck import rules

USM = "UnifiedSessionManager"
TODO_PREFIX = "# TODO(tidyllm): "
_S3_CLIENT = {"boto3.client", "aioboto3.client"}
_PG_CONNECT = {"psycopg2.connect", "psycopg.connect", "psycopg.Connection.connect"}
_MLFLOW = {k for k, v in rules.CALL_RULES.items() if v == "TL301"}
_SERVICE_METHOD = {
    "s3": "get_s3_client",
    "bedrock-runtime": "get_bedrock_client",
}


def _usm_call(method: str | None) -> cst.BaseExpression:
    base = cst.Call(func=cst.Name(USM))
    if method is None:
        return base
    return cst.Call(func=cst.Attribute(value=base, attr=cst.Name(method)))


def _string_arg(call: cst.Call, keyword: str) -> str | None:
    for arg in call.args:
        if arg.keyword is None and arg.star == "":
            value = arg.value
            break
        if arg.keyword is not None and arg.keyword.value == keyword:
            value = arg.value
            break
    else:
        return None
    if isinstance(value, cst.SimpleString):
        evaluated = value.evaluated_value
        return evaluated if isinstance(evaluated, str) else None
    return None


def _dropped(call: cst.Call, skip_first: bool) -> str:
    names = []
    for i, arg in enumerate(call.args):
        if skip_first and i == 0 and arg.keyword is None:
            continue
        if arg.keyword is not None:
            if skip_first and arg.keyword.value == "service_name":
                continue
            names.append(arg.keyword.value)
        else:
            names.append(f"{arg.star}<positional {i + 1}>")
    return ", ".join(names)


class MigrateCommand(VisitorBasedCodemodCommand):
    """Rewrites one module; collects TODOs per statement and adds the import once."""

    DESCRIPTION = "Route service connections through tidyllm's UnifiedSessionManager."
    METADATA_DEPENDENCIES = (QualifiedNameProvider, ParentNodeProvider, PositionProvider)

    def __init__(
        self,
        context: CodemodContext,
        legacy_names: frozenset[str],
        findings: list[tuple[int, str, str]] | None = None,
    ) -> None:
        super().__init__(context)
        self._legacy = legacy_names
        self._statements: list[list[str]] = []
        self._handled: list[set[str]] = []  # rule ids a rewrite took care of, per statement
        # The checker's findings on the original source: (line, rule, message).
        self._findings: dict[int, list[tuple[str, str]]] = {}
        for line, rule, message in findings or ():
            self._findings.setdefault(line, []).append((rule, message))
        self._usm_at_top = False  # `from tidyllm import UnifiedSessionManager` at module level
        self._carried: list[str] = []  # notes of a removed statement, for the next one
        self.rewrites = 0
        self.todos = 0
        self._needs_import = False
        self._inplace_import = False
        self._rewritten: set[str] = set()
        self._legacy_locals: set[str] = set()

    # --- statement stack for TODO comments -------------------------------
    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            self._statements.append(self._carried)
            self._carried = []
            self._handled.append(set())
        return super().on_visit(node)

    def on_leave(
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        result = super().on_leave(original_node, updated_node)
        if isinstance(original_node, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            notes = self._statements.pop()
            handled = self._handled.pop()
            notes.extend(self._unrewritten(original_node, notes, handled))
            if notes and (
                isinstance(result, cst.RemovalSentinel)
                or (isinstance(result, cst.SimpleStatementLine) and not result.body)
            ):
                self._carried = notes  # a duplicate import went: its TODO goes below
                notes = []
            if notes and isinstance(result, cst.SimpleStatementLine | cst.BaseCompoundStatement):
                result = self._with_todos(result, notes)
        return result

    def _with_todos(self, stmt: cst.CSTNode, notes: list[str]) -> cst.CSTNode:
        existing = {
            line.comment.value.strip()
            for line in getattr(stmt, "leading_lines", ())
            if line.comment is not None
        }
        new_lines = []
        for note in dict.fromkeys(notes):
            text = TODO_PREFIX + note
            if text not in existing:
                new_lines.append(cst.EmptyLine(indent=True, comment=cst.Comment(text)))
                self.todos += 1
        if not new_lines:
            return stmt
        return stmt.with_changes(leading_lines=[*stmt.leading_lines, *new_lines])

    def _unrewritten(self, stmt: cst.CSTNode, notes: list[str], handled: set[str]) -> list[str]:
        """TODOs for the checker's findings inside ``stmt`` that no rewrite or note covered.

        Children leave first, so what is left inside a compound statement's range
        is on its header (``with``, ``if``, decorators).
        """
        if not self._findings:
            return []
        position = self.get_metadata(PositionProvider, stmt, None)
        if position is None:
            return []
        out = []
        for line in range(position.start.line, position.end.line + 1):
            for rule, message in self._findings.pop(line, ()):
                if rule in handled or any(n.startswith(f"{rule} ") for n in notes + out):
                    continue
                out.append(f"{rule} {message}; instead: {rules.RULES[rule].replacement}")
        return out

    def _todo(self, note: str) -> None:
        if self._statements:
            self._statements[-1].append(note)

    def _handle(self, *rule_ids: str) -> None:
        if self._handled:
            self._handled[-1].update(rule_ids)

    def _qualnames(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _use_usm(self, replaced: set[str] | None = None) -> None:
        self._needs_import = True
        self.rewrites += 1
        self._rewritten |= replaced or set()

    # --- calls ------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        names = self._qualnames(original_node.func)
        if names & _S3_CLIENT:
            service = _string_arg(original_node, "service_name")
            method = _SERVICE_METHOD.get(service or "")
            if method is not None and "aioboto3.client" not in names:
                self._use_usm(names)
                self._handle("TL101", "TL402")
                dropped = _dropped(original_node, skip_first=True)
                self._forget_arguments(original_node, skip_first=True)
                if dropped:
                    self._todo(f"arguments dropped ({dropped}); configure them in tidyllm settings")
                return _usm_call(method)
        if names & _MLFLOW:
            self._use_usm(names)
            self._handle("TL301")
            dropped = _dropped(original_node, skip_first=False)
            self._forget_arguments(original_node, skip_first=False)
            if dropped:
                self._todo(
                    f"arguments dropped ({dropped}); set the tracking URI in tidyllm settings"
                )
            return _usm_call("get_mlflow_client")
        if names & _PG_CONNECT:
            parent = self.get_metadata(ParentNodeProvider, original_node, None)
            if isinstance(parent, cst.WithItem) and parent.item is original_node:
                self._use_usm(names)
                self._handle("TL201")
                self._forget_arguments(original_node, skip_first=False)
                if original_node.args:
                    self._todo(
                        "connection arguments dropped; the database URL comes from tidyllm settings"
                    )
                return _usm_call("get_postgres_connection")
            self._todo(
                "TL201 use `with UnifiedSessionManager().get_postgres_connection() as conn:` "
                "(a pooled connection is a context manager; not rewritten automatically)"
            )
            return updated_node
        func = original_node.func
        if (
            isinstance(func, cst.Name)
            and func.value.startswith("get_")
            and original_node.args
            and (func.value in self._legacy_locals or func.value in self._legacy)
            and isinstance(updated_node.func, cst.Name)
            and updated_node.func.value == USM
        ):
            # a legacy accessor (`get_s3_manager(config)`) became the manager
            self._forget_arguments(original_node, skip_first=False)
            self._todo(
                f"arguments dropped ({_dropped(original_node, skip_first=False)}); "
                "configure them in tidyllm settings"
            )
            return updated_node.with_changes(args=[])
        self._todo_for_rule(names, original_node)
        return updated_node

    def _forget_arguments(self, call: cst.Call, skip_first: bool) -> None:
        """Names used only in dropped arguments (``Config(...)``) may leave an unused import."""
        for i, arg in enumerate(call.args):
            if skip_first and i == 0 and arg.keyword is None:
                continue
            for name in m.findall(arg.value, m.Name()):
                self._rewritten |= self._qualnames(name)

    def _todo_for_rule(self, names: set[str], call: cst.Call) -> None:
        for name in sorted(names):
            rule = rules.CALL_RULES.get(name)
            if name in rules.CLIENT_FACTORIES:
                service = _string_arg(call, "service_name")
                rule = "TL402" if service in rules.BEDROCK_SERVICES else "TL101"
            if name in rules.ENGINE_CALLS:
                url = _string_arg(call, "url")
                rule = "TL202" if url and rules.POSTGRES_URL_RE.match(url) else None
            if name in rules.ENV_READ_FUNCS:
                var = _string_arg(call, "key")
                if var and (
                    var in rules.CREDENTIAL_ENV_VARS or rules.CREDENTIAL_ENV_SUFFIX_RE.search(var)
                ):
                    rule = "TL501"
            if rule is not None:
                self._todo(
                    f"{rule} {name}() bypasses the session manager; instead: "
                    f"{rules.RULES[rule].replacement}"
                )
                return

    # --- legacy managers ----------------------------------------------------
    def _is_legacy_ref(self, node: cst.CSTNode, local: str) -> bool:
        return local in self._legacy or any(
            n.rpartition(".")[2] in self._legacy and "." in n for n in self._qualnames(node)
        )

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        if isinstance(original_node.names, cst.ImportStar):
            return updated_node
        if _is_legacy_official(original_node):
            return self._official_import(original_node, updated_node)
        keep = [a for a in original_node.names if a.name.value not in self._legacy]
        if len(keep) == len(original_node.names):
            return updated_node
        removed = [a.name.value for a in original_node.names if a.name.value in self._legacy]
        for alias in original_node.names:
            if alias.name.value in self._legacy:
                local = alias.asname.name if alias.asname else alias.name
                if isinstance(local, cst.Name):
                    self._legacy_locals.add(local.value)
        self._use_usm()
        self._handle("TL601")
        self._todo(
            f"legacy {', '.join(removed)} replaced by UnifiedSessionManager; check the methods "
            "used (get_s3_client, get_postgres_connection, get_mlflow_client, db, llm, ...)"
        )
        if keep:
            last = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated_node.with_changes(names=[*keep[:-1], last])
        return self._usm_import_in_place(original_node, updated_node, None)

    def _usm_import_in_place(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom, asname: str | None
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        """Turn the statement into ``from tidyllm import UnifiedSessionManager`` -- once."""
        top_level = self._at_module_scope(original_node)
        if top_level and asname is None:
            if self._usm_at_top:
                return cst.RemoveFromParent()  # never a second copy of the import
            self._usm_at_top = True
            self._inplace_import = True
        alias = cst.ImportAlias(
            name=cst.Name(USM),
            asname=cst.AsName(name=cst.Name(asname)) if asname else None,
        )
        return updated_node.with_changes(
            module=cst.Name("tidyllm"), relative=[], names=[alias], lpar=None, rpar=None
        )

    def _official_import(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        """TL602: the manager imported from the legacy official module's path."""
        assert not isinstance(original_node.names, cst.ImportStar)
        names = list(original_node.names)
        ours = [a for a in names if a.name.value in rules.LEGACY_OFFICIAL_NAMES]
        legacy = [a for a in names if a.name.value in self._legacy and a not in ours]
        if not ours and not legacy:
            return updated_node
        keep = [a for a in names if a not in ours and a not in legacy]
        self._use_usm()
        self._handle("TL602", "TL601")
        for alias in legacy:
            local = alias.asname.name if alias.asname else alias.name
            if isinstance(local, cst.Name):
                self._legacy_locals.add(local.value)
        if legacy:
            self._todo(
                f"legacy {', '.join(a.name.value for a in legacy)} replaced by "
                "UnifiedSessionManager; check the methods used"
            )
        asname = next((_asname(a) for a in ours if _asname(a)), None)
        if keep:
            self._todo(
                "TL602 the legacy official module is going away; "
                f"replace the other names ({', '.join(a.name.value for a in keep)})"
            )
            if asname is not None:
                AddImportsVisitor.add_needed_import(self.context, "tidyllm", USM, asname)
            last = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated_node.with_changes(names=[*keep[:-1], last])
        return self._usm_import_in_place(original_node, updated_node, asname)

    def _at_module_scope(self, node: cst.CSTNode) -> bool:
        """True when ``node`` binds at module level (maybe inside try/if/with, not def/class)."""
        current: cst.CSTNode | None = node
        while current is not None and not isinstance(current, cst.Module):
            if isinstance(current, cst.FunctionDef | cst.ClassDef | cst.Lambda):
                return False
            current = self.get_metadata(ParentNodeProvider, current, None)
        return True

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if (
            original_node.value not in self._legacy
            and original_node.value not in self._legacy_locals
        ):
            return updated_node
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        if isinstance(parent, cst.ImportAlias | cst.FunctionDef | cst.ClassDef):
            return updated_node
        if isinstance(parent, cst.Attribute) and parent.attr is original_node:
            return updated_node
        if original_node.value in self._legacy_locals or any(
            n.rpartition(".")[2] in self._legacy and "." in n
            for n in self._qualnames(original_node)
        ):
            return updated_node.with_changes(value=USM)
        return updated_node

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        if original_node.attr.value in self._legacy and self._is_legacy_ref(
            original_node, original_node.attr.value
        ):
            parent = self.get_metadata(ParentNodeProvider, original_node, None)
            if isinstance(parent, cst.ImportFrom | cst.Import | cst.ImportAlias):
                return updated_node
            self._use_usm()
            self._handle("TL601")
            self._todo(
                f"legacy {original_node.attr.value} replaced by UnifiedSessionManager; "
                "check the methods used"
            )
            return cst.Name(USM)
        return updated_node

    # --- imports in functions -----------------------------------------------
    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        """Drop a block's own imports that only served rewritten calls, and the blank line after.

        (RemoveImportsVisitor would drop them too, but leave the blank line that
        separated them from the code as the block's first line.)
        """
        if not self._rewritten:
            return updated_node
        body = list(updated_node.body)
        keep: list[cst.BaseStatement] = []
        dropped_first = False
        for index, stmt in enumerate(body):
            if self._served_only_rewrites(stmt, body[:index] + body[index + 1 :]):
                dropped_first = dropped_first or not keep
                continue
            if (
                dropped_first
                and not keep
                and isinstance(stmt, cst.SimpleStatementLine | cst.BaseCompoundStatement)
            ):
                lines = list(stmt.leading_lines)
                while lines and lines[0].comment is None:
                    lines.pop(0)
                stmt = stmt.with_changes(leading_lines=lines)
            keep.append(stmt)
        if len(keep) == len(body) or not keep:
            return updated_node
        return updated_node.with_changes(body=keep)

    def _served_only_rewrites(self, stmt: cst.BaseStatement, others: list) -> bool:
        if not isinstance(stmt, cst.SimpleStatementLine) or _has_comment(stmt):
            return False
        if len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Import | cst.ImportFrom):
            return False
        node = stmt.body[0]
        locals_: list[str] = []
        if isinstance(node, cst.Import):
            roots = {name.split(".")[0] for name in self._rewritten}
            for alias in node.names:
                dotted = cst.helpers.get_full_name_for_node(alias.name) or ""
                if dotted.split(".")[0] not in roots:
                    return False
                locals_.append(_asname(alias) or dotted.split(".")[0])
        else:
            if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
                return False
            module = cst.helpers.get_full_name_for_node(node.module) or ""
            for alias in node.names:
                obj = cst.helpers.get_full_name_for_node(alias.name) or ""
                if f"{module}.{obj}" not in self._rewritten:
                    return False
                locals_.append(_asname(alias) or obj)
        rest = "".join(cst.Module(body=[]).code_for_node(o) for o in others)
        return not any(re.search(rf"\b{re.escape(name)}\b", rest) for name in locals_)

    # --- module -------------------------------------------------------------
    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        self._usm_at_top = any(
            isinstance(small, cst.ImportFrom) and _imports_usm_from_tidyllm(small)
            for stmt in tree.body
            if isinstance(stmt, cst.SimpleStatementLine)
            for small in stmt.body
        )
        result = super().transform_module_impl(tree)
        if self._needs_import and not self._inplace_import:
            AddImportsVisitor.add_needed_import(self.context, "tidyllm", USM)
        if self._rewritten:
            self._schedule_unused_removals(tree)
        return result

    def _schedule_unused_removals(self, tree: cst.Module) -> None:
        """Drop imports (module level or in functions) that only served the rewritten calls."""
        roots = {name.split(".")[0] for name in self._rewritten}
        collector = _ImportStatements()
        tree.visit(collector)
        for stmt in collector.statements:
            if _has_comment(stmt):
                continue  # removing it would lose a comment: leave it to the linter
            for small in stmt.body:
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        dotted = cst.helpers.get_full_name_for_node(alias.name) or ""
                        if dotted.split(".")[0] in roots:
                            asname = _asname(alias)
                            RemoveImportsVisitor.remove_unused_import(
                                self.context, dotted, asname=asname
                            )
                elif isinstance(small, cst.ImportFrom) and small.module is not None:
                    if small.relative or isinstance(small.names, cst.ImportStar):
                        continue
                    module = cst.helpers.get_full_name_for_node(small.module) or ""
                    for alias in small.names:
                        obj = cst.helpers.get_full_name_for_node(alias.name) or ""
                        if f"{module}.{obj}" in self._rewritten:
                            RemoveImportsVisitor.remove_unused_import(
                                self.context, module, obj, _asname(alias)
                            )


class _ImportStatements(cst.CSTVisitor):
    """Every simple statement line holding an import, at any depth."""

    def __init__(self) -> None:
        self.statements: list[cst.SimpleStatementLine] = []

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        if any(isinstance(small, cst.Import | cst.ImportFrom) for small in node.body):
            self.statements.append(node)
        return False


def _is_legacy_official(node: cst.ImportFrom) -> bool:
    if node.module is None:
        return False
    module = cst.helpers.get_full_name_for_node(node.module) or ""
    return module.rpartition(".")[2] == "start_unified_sessions"


def _imports_usm_from_tidyllm(node: cst.ImportFrom) -> bool:
    if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
        return False
    if cst.helpers.get_full_name_for_node(node.module) != "tidyllm":
        return False
    return any(a.name.value == USM and a.asname is None for a in node.names)


def _has_comment(stmt: cst.SimpleStatementLine) -> bool:
    return (
        any(line.comment is not None for line in stmt.leading_lines)
        or stmt.trailing_whitespace.comment is not None
    )


def _asname(alias: cst.ImportAlias) -> str | None:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


def source_findings(
    source: bytes, legacy_names: frozenset[str] = rules.LEGACY_NAMES
) -> list[tuple[int, str, str]]:
    """``tidyllm check``'s findings in one module on its own: (line, rule, message)."""
    from tidyllm.archcheck.checker import judge_site
    from tidyllm.archcheck.resolver import Resolver
    from tidyllm.archcheck.scanner import scan_source

    try:
        scan = scan_source(source, "<migrate>", "migrated", False, legacy_names)
    except (SyntaxError, ValueError, RecursionError):
        return []
    resolver = Resolver({scan.module: scan})
    out = [(line, rule, message) for line, _col, rule, message in scan.direct]
    for site in scan.sites:
        verdict = judge_site(site, resolver.resolve(scan, site.chain), legacy_names)
        if verdict is not None:
            out.append((site.line, *verdict))
    return out


def rewrite_source(
    source: bytes,
    legacy_names: frozenset[str] = rules.LEGACY_NAMES,
    findings: list[tuple[int, str, str]] | None = None,
) -> tuple[bytes, int, int]:
    """Rewrite one module's bytes; returns (new bytes, rewrites, todos added).

    ``findings`` are the checker's (line, rule, message) for this source, each
    of which gets a rewrite or a TODO; computed here when not given. Raises
    ``libcst.ParserSyntaxError`` for input that does not parse.
    """
    module = cst.parse_module(source)
    if findings is None:
        findings = source_findings(source, legacy_names)
    context = CodemodContext()
    command = MigrateCommand(context, legacy_names, findings)
    new_module = command.transform_module(module)
    if new_module.code == module.code:
        return source, 0, 0
    return new_module.bytes, command.rewrites, command.todos
