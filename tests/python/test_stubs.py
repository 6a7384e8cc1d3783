"""python/minilm/_minilm.pyi, the extension module's type stub, is what nanobind's stub generator
makes from the installed module: a change to python/_minilm.cpp must come with the refreshed stub."""

from __future__ import annotations

import ast
import difflib
import importlib.util
import subprocess
import sys

import pytest

REFRESH = "python -m nanobind.stubgen -m minilm._minilm -o python/minilm/_minilm.pyi"


def test_the_committed_stub_is_what_stubgen_makes(source_root, tmp_path):
    if importlib.util.find_spec("nanobind") is None or importlib.util.find_spec("nanobind.stubgen") is None:
        pytest.fail(f"nanobind.stubgen is not importable by {sys.executable}: install nanobind in this "
                    "environment (CI does) to check python/minilm/_minilm.pyi")
    fresh = tmp_path / "_minilm.pyi"
    run = subprocess.run([sys.executable, "-m", "nanobind.stubgen", "-q", "-m", "minilm._minilm", "-o", str(fresh)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"stubgen failed:\n{run.stderr}"

    committed = source_root / "python" / "minilm" / "_minilm.pyi"
    want = fresh.read_text()
    have = committed.read_text() if committed.exists() else ""
    assert "class Model:" in want
    diff = "".join(difflib.unified_diff(have.splitlines(True), want.splitlines(True), str(committed), "stubgen"))
    assert have == want, f"{committed} is out of date; refresh it from the source root with\n    {REFRESH}\n{diff}"


def test_the_stub_defines_every_name_the_package_takes_from_the_module(source_root):
    # A name minilm/__init__.py imports from minilm._minilm that the stub lacks (or imports back from
    # minilm) is, to a type checker, undefined on both sides: every use of it becomes Any.
    stub = ast.parse((source_root / "python" / "minilm" / "_minilm.pyi").read_text())
    defined = {node.name for node in stub.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    defined |= {t.id for node in stub.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}
    package = ast.parse((source_root / "python" / "minilm" / "__init__.py").read_text())
    taken = {alias.name for node in ast.walk(package) if isinstance(node, ast.ImportFrom) and node.module == "_minilm"
             for alias in node.names}
    taken |= {node.attr for node in ast.walk(package)
              if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "_minilm"}
    assert taken, "minilm/__init__.py takes nothing from minilm._minilm?"
    assert taken <= defined, f"the stub does not define {sorted(taken - defined)}"
