"""The layering rules of docs/ARCHITECTURE.md hold without anyone remembering them."""

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


def _packages() -> set[str]:
    """core's domain packages whose face is their `__init__` (platform's face is its modules)."""
    core = ROOT / "core"
    return {p.name for p in core.iterdir() if (p / "__init__.py").exists()} - {"platform"}


def _face_breaches(rel: Path, source: str, packages: set[str]) -> list[str]:
    own = rel.parts[1] if rel.parts[0] == "core" and len(rel.parts) > 2 else None
    found = []
    for node in ast.walk(ast.parse(source, filename=str(rel))):
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
            continue
        parts = node.module.split(".")
        if parts[0] != "core" or len(parts) < 2 or parts[1] not in packages or parts[1] == own:
            continue
        inner = [node.module] if len(parts) > 2 else []
        inner += [
            f"{node.module}.{a.name}"
            for a in node.names
            if len(parts) == 2 and (ROOT / "core" / parts[1] / f"{a.name}.py").exists()
        ]
        found += [f"{rel}:{node.lineno} imports {name}" for name in inner]
    return found


def test_other_packages_import_only_a_packages_face():
    """`from core.trading import run_ticks`, never `from core.trading.batch import ...`: a
    package's inside can change without touching its callers (tests may look inside)."""
    packages = _packages()
    files = [p for d in ("core", "pages", "ui", "worker", "bench", "docs") for p in _modules(d)]
    breaches = [
        breach
        for path in [*files, ROOT / "streamlit_app.py"]
        for breach in _face_breaches(path.relative_to(ROOT), path.read_text(), packages)
    ]
    assert breaches == []


def test_the_face_check_sees_a_breach_and_allows_the_face():
    source = "from core.trading.batch import run_ticks\nfrom core.backtest import walk, run\n"
    assert _face_breaches(Path("core/views/x.py"), source, _packages()) == [
        "core/views/x.py:1 imports core.trading.batch",
        "core/views/x.py:2 imports core.backtest.walk",
    ]
    assert _face_breaches(Path("core/trading/x.py"), source, _packages()) == [
        "core/trading/x.py:2 imports core.backtest.walk"
    ]
    assert (
        _face_breaches(Path("pages/x.py"), "from core.trading import run_ticks", {"trading"}) == []
    )
