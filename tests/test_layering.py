"""The layering rules of DESIGN.md hold without anyone remembering them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UI_ONLY = {"streamlit", "streamlit_authenticator", "extra_streamlit_components"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_core_and_worker_never_import_streamlit():
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("core", "worker")
        for p in _modules(folder)
        if _imports(p) & UI_ONLY
    ]
    assert offenders == []


def test_core_never_imports_pages_ui_or_worker():
    offenders = [
        str(p.relative_to(ROOT))
        for p in _modules("core")
        if _imports(p) & {"pages", "ui", "worker"}
    ]
    assert offenders == []


def test_only_core_exchanges_imports_ccxt():
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("core", "worker", "pages", "ui")
        for p in _modules(folder)
        if "ccxt" in _imports(p) and "exchanges" not in p.parts
    ]
    offenders += [
        str(p.relative_to(ROOT)) for p in [ROOT / "streamlit_app.py"] if "ccxt" in _imports(p)
    ]
    assert offenders == []


def test_pages_hold_no_sql_and_no_exchange_code():
    forbidden = {"sqlalchemy", "sqlmodel", "ccxt", "sqlite3", "psycopg"}
    offenders = [str(p.relative_to(ROOT)) for p in _modules("pages") if _imports(p) & forbidden]
    assert offenders == []


def test_import_linter_contracts_hold():
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout
