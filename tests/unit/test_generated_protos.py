"""The generated gRPC code must match protos/bylaw/v1/*.proto (regenerate with `make protos`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_detects_a_stale_file(tmp_path: Path) -> None:
    # Prove the check can fail, on a copy of the tree (the script finds protos/ beside scripts/).
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "gen_protos.py", tmp_path / "scripts" / "gen_protos.py")
    generated = tmp_path / "protos" / "bylaw" / "v1" / "cases_pb2.py"
    generated.write_bytes(generated.read_bytes() + b"\n# stale\n")
    result = subprocess.run(
        [sys.executable, str(tmp_path / "scripts" / "gen_protos.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    assert "cases_pb2.py" in result.stdout
