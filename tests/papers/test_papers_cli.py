"""The papers commands as a user runs them (real subprocesses with the outbound audit hook of
tests/outbound_audit.py): against the arXiv/Crossref double on loopback nothing else is
contacted; and with embedded defaults and no papers command, the outside client is never
even built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extraction"))
from extraction_builders import text_pdf
from test_papers_import import PAPER
from test_papers_legacy_bibtex import make_legacy

from outbound_audit import audited_env, records, wait_for_children
from paper_service_doubles import PaperServiceDouble


def test_papers_cli_against_the_double_contacts_nothing_else(data_dir, database_url, tmp_path):
    env, audit = audited_env(tmp_path)
    with PaperServiceDouble() as double:
        double.papers[PAPER["id"]] = PAPER
        double.pdfs[PAPER["id"]] = text_pdf(b"Mixture of head attention routes tokens to heads.")
        double.works["10.1000/risk.2021"] = {"doi": "10.1000/risk.2021", "title": "Model Risk"}
        double.faults["10.1000/gone"] = "missing"
        env.update(TIDYLLM_DATA_DIR=str(data_dir), DATABASE_URL=database_url)
        for key, value in double.settings().items():
            env[f"TIDYLLM_PAPERS__{key.upper()}"] = str(value)

        def tidyllm(*args: str, code: int = 0) -> subprocess.CompletedProcess:
            result = subprocess.run(
                [sys.executable, "-c", "from tidyllm.cli.main import run; run()", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert result.returncode == code, (args, result.stdout, result.stderr)
            return result

        tidyllm("domains", "create", "papers")
        out = tidyllm(
            "papers",
            "add",
            "arxiv:2410.11842",
            "doi:10.1000/risk.2021",
            "doi:10.1000/gone",
            "--domain",
            "papers",
            "--collection",
            "attention",
            code=1,
        )
        assert "added arxiv:2410.11842: document" in out.stdout
        assert "(with its PDF)" in out.stdout and "(metadata only)" in out.stdout
        assert "failed doi:10.1000/gone: DOI 10.1000/gone was not found" in out.stderr
        legacy = make_legacy(tmp_path / "whitepapers")
        out = tidyllm("papers", "import-legacy", str(legacy), "--domain", "papers")
        assert "3 paper(s): 3 added" in out.stdout and "1 without a PDF" in out.stdout
        assert "2303.00003" in out.stdout
        out = tidyllm("papers", "import-legacy", str(legacy), "--domain", "papers")
        assert "3 unchanged" in out.stdout
        wait_for_children(audit)
    assert any("papers" in r["argv"] for r in records(audit, "started.jsonl"))
    assert records(audit, "outbound.jsonl") == []


def test_collections_export_writes_bibtex_and_csl_json(sm, cli_env, cli, tmp_path):
    from tidyllm.knowledge import create_domain
    from tidyllm.knowledge.papers import import_legacy

    create_domain(sm, "papers")
    import_legacy(sm, "papers", make_legacy(tmp_path / "whitepapers"))
    result = cli("collections", "export", "AI-ML")
    assert result.exit_code == 0, result.output
    assert result.output.count("@misc{") == 2 and "Heat Engines and Their Limits" in result.output
    target = tmp_path / "ai.json"
    result = cli(
        "collections", "export", "AI-ML", "-d", "papers", "-f", "csl-json", "-o", str(target)
    )
    assert (
        result.exit_code == 0 and '"title": "Art, Creativity and Diffusion"' in target.read_text()
    )
    result = cli("collections", "export", "AI-ML", "--format", "ris")
    assert result.exit_code == 1 and "unknown export format 'ris'" in result.output
    result = cli("collections", "export", "Nothing", "-d", "papers")
    assert result.exit_code == 1 and "no collection 'Nothing'" in result.output


def test_no_papers_command_builds_no_outside_client(sm, tmp_path):
    from tidyllm.knowledge import create_domain
    from tidyllm.knowledge.ingest import ingest
    from tidyllm.knowledge.search import search

    create_domain(sm, "papers")
    doc = tmp_path / "note.txt"
    doc.write_text("Liquidity coverage ratios for banks.")
    ingest(sm, "papers", [str(doc)])
    search(sm, "papers", "liquidity")
    assert "outside_http" not in sm._cache
    assert sm.settings.papers.contact_email is None  # nothing identifies the user by default
