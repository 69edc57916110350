"""Optional py-spy profiles of the stack's processes during a benchmark.

Set ``BYLAW_BENCH_PYSPY=<dir>`` and a benchmark records, per profiled process and run, a
collapsed-stack file ``<dir>/<name>.txt`` (load it in speedscope or flamegraph.pl).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

PYSPY_DIR = os.environ.get("BYLAW_BENCH_PYSPY", "")


def start_pyspy(pid: int, name: str) -> subprocess.Popen[bytes] | None:
    """Start sampling ``pid`` (nothing unless BYLAW_BENCH_PYSPY is set)."""
    if not PYSPY_DIR:
        return None
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = Path(PYSPY_DIR) / f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    popen = subprocess.Popen(
        [exe, "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # let it attach before the load starts
    return popen


def stop_pyspy(popen: subprocess.Popen[bytes] | None) -> None:
    if popen is not None:
        popen.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        popen.wait(60)
