"""Render findings as text, JSON or SARIF 2.1.0 (for code-scanning UIs)."""

from __future__ import annotations

import json

from tidyllm import __version__
from tidyllm.archcheck.findings import Finding
from tidyllm.archcheck.rules import RULES

FORMATS = ("text", "json", "sarif")


def render_text(findings: list[Finding], files_checked: int) -> str:
    """``path:line:col: RULE message (use: replacement)`` lines and a summary."""
    lines = [
        f"{f.path}:{f.line}:{f.col + 1}: {f.rule} {f.message} (use: {f.replacement})"
        for f in findings
    ]
    noun = "finding" if len(findings) == 1 else "findings"
    lines.append(f"{len(findings)} {noun} in {files_checked} files checked")
    return "\n".join(lines)


def render_json(findings: list[Finding], files_checked: int) -> str:
    """A stable JSON document: ``{"files_checked": n, "findings": [...]}``."""
    return json.dumps(
        {"files_checked": files_checked, "findings": [f.to_dict() for f in findings]},
        indent=2,
    )


def render_sarif(findings: list[Finding], files_checked: int) -> str:
    """SARIF 2.1.0 with one rule descriptor per rule id and 1-based columns."""
    used = sorted({f.rule for f in findings} | set(RULES))
    index = {rule: i for i, rule in enumerate(used)}
    rules = [
        {
            "id": rule,
            "name": rule,
            "shortDescription": {"text": RULES[rule].title},
            "help": {"text": f"Use instead: {RULES[rule].replacement}"},
            "helpUri": "https://github.com/tidyllm/tidyllm/blob/main/docs/archcheck.md",
        }
        for rule in used
    ]
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": "error",
            "message": {"text": f"{f.message}. Use instead: {f.replacement}"},
            "partialFingerprints": {"tidyllmFingerprint/v1": f.fingerprint},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path},
                        "region": {"startLine": f.line, "startColumn": f.col + 1},
                    }
                }
            ],
        }
        for f in findings
    ]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tidyllm-check",
                        "version": __version__,
                        "informationUri": "https://github.com/tidyllm/tidyllm",
                        "rules": rules,
                    }
                },
                "results": results,
                "properties": {"filesChecked": files_checked},
            }
        ],
    }
    return json.dumps(doc, indent=2)


def render(findings: list[Finding], files_checked: int, fmt: str) -> str:
    """Dispatch on ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return render_json(findings, files_checked)
    if fmt == "sarif":
        return render_sarif(findings, files_checked)
    return render_text(findings, files_checked)
