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
``from tidyllm import UnifiedSessionManager`` is added once, at the end of
the first block of imports (after any docstring, shebang, encoding line and
``__future__`` imports), and never twice. Imports the rewrites left unused are
removed, in functions too (unless they carry a comment, or their name is
still mentioned in code or a string). Both are done inside the one pass:
LibCST's ``AddImportsVisitor``/``RemoveImportsVisitor`` cost three more
passes and a second scope analysis, which was half of ``migrate``'s time.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TypeVar

import libcst as cst
import libcst.helpers
import libcst.matchers as m
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

from tidyllm.archcheck import rules
from tidyllm.archcheck.slicing import without_comments

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
    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

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
        self._rewritten: set[str] = set()
        self._legacy_locals: set[str] = set()
        self._imports: list[list[cst.SimpleStatementLine]] = [[]]  # per module/function
        self._path: list[cst.CSTNode] = []  # the original nodes from the module down

    # --- statement stack for TODO comments -------------------------------
    def on_visit(self, node: cst.CSTNode) -> bool:
        self._path.append(node)
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
            self._note_imports(result)
        self._path.pop()
        return result

    def _parent(self) -> cst.CSTNode | None:
        """The parent of the node being left (a stack: LibCST's provider costs a pass)."""
        return self._path[-2] if len(self._path) > 1 else None

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
            parent = self._parent()
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
        top_level = self._at_module_scope()
        if top_level and asname is None:
            if self._usm_at_top:
                return cst.RemoveFromParent()  # never a second copy of the import
            self._usm_at_top = True
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

    def _at_module_scope(self) -> bool:
        """True when the node being left binds at module level (maybe in try/if, not def/class)."""
        return not any(
            isinstance(n, cst.FunctionDef | cst.ClassDef | cst.Lambda) for n in self._path
        )

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if (
            original_node.value not in self._legacy
            and original_node.value not in self._legacy_locals
        ):
            return updated_node
        parent = self._parent()
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
            parent = self._parent()
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

    # --- module -------------------------------------------------------------
    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        self._usm_at_top = any(
            isinstance(small, cst.ImportFrom) and _imports_usm_from_tidyllm(small)
            for stmt in tree.body
            if isinstance(stmt, cst.SimpleStatementLine)
            for small in stmt.body
        )
        return super().transform_module_impl(tree)

    # --- imports: the one we add, the ones made unused --------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._imports.append([])
        return True

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        return self._drop_unused(updated_node, self._imports.pop())

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        module = updated_node
        if self._needs_import and not self._usm_at_top:
            module = _with_usm_import(module)
        return self._drop_unused(module, self._imports.pop())

    def _note_imports(self, stmt: cst.CSTNode) -> None:
        if isinstance(stmt, cst.SimpleStatementLine) and any(
            isinstance(small, cst.Import | cst.ImportFrom) for small in stmt.body
        ):
            self._imports[-1].append(stmt)

    def _drop_unused(self, scope: _Scope, statements: list[cst.SimpleStatementLine]) -> _Scope:
        """``scope`` without the imports only rewritten code used (kept if they carry a comment).

        "Used" is judged on the scope's final text (:class:`_Uses`).
        """
        if not self._rewritten or not statements:
            return scope
        edits: dict[int, cst.SimpleStatementLine | None] = {}
        uses: _Uses | None = None
        bound: _Uses | None = None  # names in import statements bind, never use
        for stmt in statements:
            if _has_comment(stmt):
                continue
            dropped = {id(alias): name for alias, name in self._rewritten_aliases(stmt)}
            if not dropped:
                continue
            uses = uses or _Uses(_code(scope))
            bound = bound or _Uses("".join(_code(s) for s in statements))
            dropped = {k: n for k, n in dropped.items() if uses.count(n) <= bound.count(n)}
            if dropped:
                edits[id(stmt)] = _without_aliases(stmt, dropped)
        if not edits:
            return scope
        return scope.visit(_DropStatements(edits))  # type: ignore[return-value]

    def _rewritten_aliases(
        self, stmt: cst.SimpleStatementLine
    ) -> list[tuple[cst.ImportAlias, str]]:
        """(alias, local name) for each alias that imports something a rewrite replaced."""
        roots = {name.split(".")[0] for name in self._rewritten}
        out: list[tuple[cst.ImportAlias, str]] = []
        for small in stmt.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    dotted = cst.helpers.get_full_name_for_node(alias.name) or ""
                    if dotted.split(".")[0] in roots:
                        out.append((alias, _asname(alias) or dotted.split(".")[0]))
            elif (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and not small.relative
                and not isinstance(small.names, cst.ImportStar)
            ):
                module = cst.helpers.get_full_name_for_node(small.module) or ""
                for alias in small.names:
                    obj = cst.helpers.get_full_name_for_node(alias.name) or ""
                    if f"{module}.{obj}" in self._rewritten:
                        out.append((alias, _asname(alias) or obj))
        return out


_Scope = TypeVar("_Scope", cst.Module, cst.FunctionDef)


class _Uses:
    """How often each name occurs in a piece of code, comments aside (strings count).

    Cruder than scope analysis, on purpose: a name in a string (``__all__``,
    an annotation) or an attribute keeps its import, since a doubt keeps it;
    and the same rule on a reduced module (:mod:`tidyllm.archcheck.slicing`
    stubs mention these words) gives the same answer.
    """

    def __init__(self, code: str) -> None:
        self._text = without_comments(code)

    def count(self, name: str) -> int:
        """Whole-word occurrences of ``name``."""
        return len(re.findall(rf"\b{re.escape(name)}\b", self._text))


def _code(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Module):
        return node.code
    return cst.Module(body=[]).code_for_node(node)


def _without_aliases(
    stmt: cst.SimpleStatementLine, dropped: dict[int, str]
) -> cst.SimpleStatementLine | None:
    """The statement minus the dropped aliases; None when nothing is left of it."""
    body = []
    for small in stmt.body:
        if isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(
            small.names, cst.ImportStar
        ):
            names = [a for a in small.names if id(a) not in dropped]
            if not names:
                continue
            if len(names) < len(small.names):
                last = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                small = small.with_changes(names=[*names[:-1], last])
        body.append(small)
    if not body:
        return None
    last_small = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return stmt.with_changes(body=[*body[:-1], last_small])


class _DropStatements(cst.CSTTransformer):
    """Apply import edits found by identity; a block never becomes empty.

    Like the imports it replaces, a removed first statement of a block takes
    the blank lines after it along (they separated imports from code).
    """

    def __init__(self, edits: dict[int, cst.SimpleStatementLine | None]) -> None:
        super().__init__()
        self._edits = edits

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return False

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if id(original_node) not in self._edits:
            return updated_node
        replacement = self._edits[id(original_node)]
        return cst.RemoveFromParent() if replacement is None else replacement

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not updated_node.body:
            return original_node
        first = original_node.body[0]
        if self._edits.get(id(first), first) is not None:
            return updated_node
        head = updated_node.body[0]
        lines = list(head.leading_lines)
        while lines and lines[0].comment is None:
            lines.pop(0)
        return updated_node.with_changes(
            body=[head.with_changes(leading_lines=lines), *updated_node.body[1:]]
        )


def _with_usm_import(module: cst.Module) -> cst.Module:
    """``from tidyllm import UnifiedSessionManager`` placed as LibCST's AddImportsVisitor would.

    At the end of the module's first block of imports (after a docstring),
    or merged into a ``from tidyllm import ...`` there. Done here
    because the visitor's extra passes (gather, transform) cost as much as
    the whole codemod.
    """
    body = list(module.body)
    start = 1 if body and m.matches(body[0], _DOCSTRING) else 0
    end = start
    while end < len(body) and m.matches(body[end], _IMPORT_LINE):
        end += 1
    ours = [i for i in range(start, end) if _from_tidyllm(body[i].body[0])]  # type: ignore[attr-defined]
    if any(isinstance(body[i].body[0].names, cst.ImportStar) for i in ours):  # type: ignore[attr-defined]
        return module
    if ours:
        small = body[ours[0]].body[0]  # type: ignore[attr-defined]
        merged = small.with_changes(names=[cst.ImportAlias(name=cst.Name(USM)), *small.names])
        body[ours[0]] = body[ours[0]].with_changes(body=[merged])  # type: ignore[attr-defined]
        return module.with_changes(body=body)
    line = cst.SimpleStatementLine(
        body=[
            cst.ImportFrom(module=cst.Name("tidyllm"), names=[cst.ImportAlias(name=cst.Name(USM))])
        ]
    )
    after = body[end:]
    if after and (not after[0].leading_lines or after[0].leading_lines[0].comment is not None):
        after[0] = after[0].with_changes(leading_lines=[cst.EmptyLine(), *after[0].leading_lines])
    return module.with_changes(body=[*body[:end], line, *after])


_DOCSTRING = m.SimpleStatementLine(body=[m.Expr(value=m.SimpleString())])
_IMPORT_LINE = m.SimpleStatementLine(body=[m.ImportFrom() | m.Import()])


def _is_legacy_official(node: cst.ImportFrom) -> bool:
    if node.module is None:
        return False
    module = cst.helpers.get_full_name_for_node(node.module) or ""
    return module.rpartition(".")[2] == "start_unified_sessions"


def _from_tidyllm(node: cst.BaseSmallStatement) -> bool:
    return (
        isinstance(node, cst.ImportFrom)
        and not node.relative
        and node.module is not None
        and cst.helpers.get_full_name_for_node(node.module) == "tidyllm"
    )


def _imports_usm_from_tidyllm(node: cst.ImportFrom) -> bool:
    if not _from_tidyllm(node) or isinstance(node.names, cst.ImportStar):
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
    command = MigrateCommand(CodemodContext(), legacy_names, findings)
    # What ``transform_module`` does, minus its deep copy of the fresh tree (a pass).
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    with command.resolve(wrapper):
        command.context = replace(command.context, wrapper=wrapper)
        new_module = command.transform_module_impl(module)
    if AddImportsVisitor.CONTEXT_KEY in command.context.scratch:  # an aliased import
        new_module = AddImportsVisitor(command.context).transform_module(new_module)
    if new_module.code == module.code:
        return source, 0, 0
    return new_module.bytes, command.rewrites, command.todos
