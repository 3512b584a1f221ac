"""Files in syntax newer than the running interpreter: parse with LibCST, lower, then ``ast``.

The checker's rules run on an ``ast`` tree, and ``ast.parse`` only knows the
running interpreter's grammar (3.11 here). LibCST's native parser knows
Python 3.0-3.14 (LibCST >= 1.x: PEP 695 type parameters and ``type``
aliases, PEP 696 defaults, PEP 701 f-strings). When ``ast.parse`` raises
``SyntaxError``, the file is parsed with LibCST; if that fails too, the
original ``SyntaxError`` stands (TL000). Otherwise the newer constructs are
*lowered* to 3.11 syntax that means the same to the rules, and the lowered
text is parsed with ``ast``, so **every rule runs on such a file**:

* ``def f[T](x: T)`` / ``class C[T]:`` - the type parameters are replaced by
  spaces (line and column of everything else unchanged);
* ``type X[T] = V`` - becomes ``X = V`` with ``V`` at its column;
* an f-string 3.11 cannot parse (nested same quotes, backslashes or
  comments in ``{}``, multi-line ``{}`` in a one-line string) - becomes a
  parenthesised tuple of a plain string (its literal text, holes as ``{}``,
  which is what the secret rules read anyway) and its expressions, lowered
  in turn, with as many line breaks, so later lines keep their numbers.

Limits: columns after a lowered f-string on the same line move; a multi-line
type parameter list moves the lines after it.
"""

from __future__ import annotations

import ast

import libcst as cst


def _blank(code: str) -> str:
    return "".join("\n" if c == "\n" else " " for c in code)


class _Lower(cst.CSTTransformer):
    def __init__(self, module: cst.Module) -> None:
        super().__init__()
        self._module = module

    def _code(self, node: cst.CSTNode) -> str:
        return self._module.code_for_node(node)

    def _pad_type_params(self, updated: cst.FunctionDef | cst.ClassDef) -> cst.CSTNode:
        if updated.type_parameters is None:
            return updated
        width = self._code(updated.type_parameters) + self._code(
            updated.whitespace_after_type_parameters
        )
        space = self._code(updated.whitespace_after_name) + _blank(width).replace("\n", " ")
        return updated.with_changes(
            type_parameters=None,
            whitespace_after_type_parameters=cst.SimpleWhitespace(""),
            whitespace_after_name=cst.SimpleWhitespace(space),
        )

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.CSTNode:
        return self._pad_type_params(updated_node)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.CSTNode:
        return self._pad_type_params(updated_node)

    def leave_TypeAlias(
        self, original_node: cst.TypeAlias, updated_node: cst.TypeAlias
    ) -> cst.CSTNode:
        head = "type" + self._code(updated_node.whitespace_after_type)
        tail = ""
        if updated_node.type_parameters is not None:
            tail = self._code(updated_node.type_parameters) + self._code(
                updated_node.whitespace_after_type_parameters
            )
        pad = " " * len((head + tail).replace("\n", " "))
        return cst.Assign(
            targets=[
                cst.AssignTarget(
                    target=updated_node.name,
                    whitespace_before_equal=cst.SimpleWhitespace(
                        pad + self._code(updated_node.whitespace_after_name)
                    ),
                    whitespace_after_equal=updated_node.whitespace_after_equals,
                )
            ],
            value=updated_node.value,
            semicolon=updated_node.semicolon,
        )

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.BaseExpression:
        code = self._module.code_for_node(updated_node)
        try:
            ast.parse(code, mode="eval")
            return updated_node
        except SyntaxError:
            pass
        text = []
        exprs = []
        for part in updated_node.parts:
            if isinstance(part, cst.FormattedStringText):
                text.append(part.value)
            else:
                text.append("{}")
                exprs.append(self._module.code_for_node(part.expression))
        literal = repr("".join(text))
        inner = ", ".join([literal, *exprs])
        breaks = code.count("\n") - inner.count("\n")
        return cst.parse_expression(f"({inner},{chr(10) * max(breaks, 0)})")


def lower(source: str | bytes) -> str | None:
    """``source`` in 3.11 syntax meaning the same to the rules; None if LibCST cannot parse it."""
    try:
        module = cst.parse_module(source)
        lowered = module.visit(_Lower(module))
    except (cst.ParserSyntaxError, ValueError, RecursionError, TypeError):
        return None
    return lowered.code


def parse_newer(source: str | bytes, filename: str, error: SyntaxError) -> ast.Module:
    """``ast`` tree of a file in newer syntax (see module doc); re-raises ``error`` if invalid."""
    lowered = lower(source)
    if lowered is None:
        raise error
    try:
        return ast.parse(lowered, filename=filename)
    except SyntaxError as exc:  # newer syntax we do not lower yet (3.14 t-strings, ...)
        raise SyntaxError(
            f"valid Python 3.13+ syntax the rules cannot read yet: {exc.msg}",
            (filename, exc.lineno, exc.offset, exc.text),
        ) from exc
