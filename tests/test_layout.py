"""The layout as documented: each subpackage's ``__init__`` names its modules, and the README
states the import rule the code follows (layers, and the features that import each other)."""

from __future__ import annotations

import ast
import configparser
import re
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lamroute"
SUBPACKAGES = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_every_subpackage_docstring_names_each_of_its_modules(name: str) -> None:
    """A module added without a word in its package's docstring leaves the docstring stale
    (``http/`` once said nothing of ``forms.py`` and ``multipart.py``)."""
    folder = PACKAGE / name
    docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""
    modules = sorted(p.name for p in folder.glob("*.py") if p.name != "__init__.py")
    missing = [module for module in modules if module not in docstring]
    assert not missing, f"lamroute/{name}/__init__.py does not mention {missing}"


def _layers() -> list[list[str]]:
    """The layers of the .importlinter contract, top to bottom, each a list of members."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    lines = config["importlinter:contract:layers"]["layers"].splitlines()
    return [re.split(r"\s*[|:]\s*", line.strip()) for line in lines
            if line.strip() and not line.strip().startswith("#")]


def _readme_name(member: str) -> str:
    return f"`{member}/`" if (PACKAGE / member).is_dir() else f"`{member}.py`"


def _sibling_imports() -> set[tuple[str, str]]:
    graph = grimp.build_graph("lamroute", include_external_packages=False)
    return {(a, b) for layer in _layers() for a in layer for b in layer
            if a != b and graph.direct_import_exists(
                importer=f"lamroute.{a}", imported=f"lamroute.{b}", as_packages=True)}


def _organisation_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## How the code is organised")
    end = text.find("\n## ", start + 1)
    return text[start:] if end == -1 else text[start:end]


def test_the_readme_names_every_import_between_siblings_of_a_layer() -> None:
    """The README once said "each folder imports only the ones below it", while features
    import each other; it names those imports now, and no others."""
    section = _organisation_section()
    actual = _sibling_imports()
    assert actual, "the features import each other: the check would check nothing"
    named = set(re.findall(r"(`[\w.]+/?`) → (`[\w.]+/?`)", section))
    assert named == {(_readme_name(a), _readme_name(b)) for a, b in actual}
    assert "imports only\nthe ones below it" not in section
