"""requirements.txt names every package the app imports itself (a package that only arrives as
another one's dependency can vanish with it: bcrypt did, when streamlit-authenticator left)."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ["core", "ui", "worker", "pages", "streamlit_app.py"]
OURS = {"core", "ui", "worker", "pages", "tests"}


def imported_top_names() -> set[str]:
    names: set[str] = set()
    files = [
        p
        for part in APP
        for p in ((ROOT / part).rglob("*.py") if (ROOT / part).is_dir() else [ROOT / part])
    ]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - OURS - set(sys.stdlib_module_names) - {"__future__"}


def required() -> set[str]:
    wanted = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            wanted.add(re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return wanted


def test_every_third_party_import_is_a_direct_requirement():
    dists = packages_distributions()
    missing = {}
    for name in sorted(imported_top_names()):
        owners = {d.lower().replace("_", "-") for d in dists.get(name, [])}
        assert owners, f"{name} is imported but not installed"
        if not owners & required():
            missing[name] = sorted(owners)
    assert not missing, f"imported but not in requirements.txt: {missing}"
