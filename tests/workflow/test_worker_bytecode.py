"""The worker writes its workflow modules' bytecode at start-up (workflows.worker): the
sandbox imports a workflow's module afresh for every workflow it runs, and without a
``.pyc`` each of those imports compiles the source again."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from workflows.case_lifecycle import CaseLifecycleWorkflow
from workflows.remediation import RemediationWorkflow
from workflows.worker import WORKFLOW_CLASSES, precompile_workflow_modules


def _load(path: Path, name: str) -> type:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    cls: type = module.Example
    return cls


def test_a_workflow_modules_bytecode_is_written_even_when_python_would_not_write_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # as PYTHONDONTWRITEBYTECODE=1
    source = tmp_path / "example_workflow.py"
    source.write_text("class Example:\n    pass\n")
    cls = _load(source, "example_workflow")
    cached = Path(importlib.util.cache_from_source(str(source)))
    assert not cached.exists()

    assert precompile_workflow_modules([cls]) == []

    assert cached.exists()
    # Stale bytecode is replaced when the source changes.
    before = cached.stat().st_mtime_ns
    source.write_text("class Example:\n    changed = True\n")
    os.utime(source, ns=(before + 10**9, before + 10**9))
    assert precompile_workflow_modules([cls]) == []
    assert cached.stat().st_mtime_ns != before


def test_every_workflow_the_worker_runs_is_precompiled() -> None:
    assert set(WORKFLOW_CLASSES) == {CaseLifecycleWorkflow, RemediationWorkflow}
    assert precompile_workflow_modules() == []
    for cls in WORKFLOW_CLASSES:
        module_file = sys.modules[cls.__module__].__file__
        assert module_file is not None
        assert Path(importlib.util.cache_from_source(module_file)).exists()
