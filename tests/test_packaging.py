"""The wheel holds what the application reads, and pyproject.toml declares what the code imports.

``.ci/run`` builds the wheel and runs it in a fresh virtual environment; these
checks catch a forgotten package, data file or dependency in seconds.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from survey import MIGRATIONS, ROOT, STATIC, TEMPLATES

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
RUNTIME = PYPROJECT["project"]["dependencies"]
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
DEV = EXTRAS["dev"]
#: Extras other than dev add optional features that the application imports where installed.
OPTIONAL = [req for extra, reqs in EXTRAS.items() if extra != "dev" for req in reqs]
#: Source files that stay out of the wheel on purpose.
SOURCE_ONLY = {"survey/questionnaires/README.md", "survey/translations/messages.pot"}
RUNTIME_CODE = ("survey", "analysis", "migrations")
DEV_CODE = ("tests", "benchmarks")
FIRST_PARTY = {"survey", "analysis", "tests"}


def package_folder(package: str) -> Path:
    """Where setuptools takes ``package`` from, following ``package-dir``."""
    parts = package.split(".")
    for end in range(len(parts), 0, -1):
        mapped = SETUPTOOLS["package-dir"].get(".".join(parts[:end]))
        if mapped:
            return ROOT / mapped / Path(*parts[end:])
    return ROOT / Path(*parts)


def shipped_files() -> set[str]:
    files = set()
    for package in SETUPTOOLS["packages"]:
        folder = package_folder(package)
        patterns = ["*.py", *SETUPTOOLS["package-data"].get(package, [])]
        files |= {path for pattern in patterns for path in folder.glob(pattern) if path.is_file()}
    return {path.relative_to(ROOT).as_posix() for path in files}


def source_files(*folders: str) -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for folder in folders
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
    }


def test_every_source_file_of_the_application_is_in_the_wheel():
    """A new package goes in pyproject.toml's packages, a new data file in its package-data."""
    left_out = source_files("templates", "static", *RUNTIME_CODE) - shipped_files()
    assert sorted(left_out - SOURCE_ONLY) == []


def test_the_app_finds_its_folders_in_a_source_checkout():
    assert (TEMPLATES / "base.html").is_file()
    assert (STATIC / "site.css").is_file()
    assert (MIGRATIONS / "env.py").is_file()


def distribution(requirement: str) -> str:
    return normalise(re.match(r"[A-Za-z0-9._-]+", requirement).group())


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_distributions(*folders: str) -> dict[str, str]:
    """Each third-party distribution imported under ``folders``, with one file importing it."""
    modules = packages_distributions()
    found = {}
    for name in sorted(source_files(*folders)):
        if not name.endswith(".py"):
            continue
        for node in ast.walk(ast.parse((ROOT / name).read_text())):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    for dist in modules.get(top, [top]):
                        found.setdefault(normalise(dist), name)
    return found


def undeclared(folders: tuple[str, ...], requirements: list[str]) -> dict[str, str]:
    declared = {distribution(requirement) for requirement in requirements}
    imported = imported_distributions(*folders)
    return {dist: name for dist, name in imported.items() if dist not in declared}


def test_runtime_code_imports_only_runtime_dependencies():
    """Each distribution the application imports is a dependency or in an optional extra."""
    assert undeclared(RUNTIME_CODE, RUNTIME + OPTIONAL) == {}


def test_tests_and_benchmarks_import_only_declared_dependencies():
    assert undeclared(DEV_CODE, RUNTIME + DEV) == {}
