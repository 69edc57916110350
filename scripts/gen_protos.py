"""Generate Python code for every contract in protos/bylaw/v1.

The single way gRPC code is produced: messages (*_pb2.py), stubs (*_pb2_grpc.py) and
type stubs (*.pyi via mypy-protobuf) are written next to the .proto files so the import
path (`bylaw.v1.cases_pb2`) matches the proto package. `--check` regenerates into a temp
directory and fails when the committed code differs (the staleness check CI runs).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from google.rpc import status_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIR = PROTO_ROOT / "bylaw" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def _generate(out_dir: Path) -> None:
    # protoc finds the mypy-protobuf plugins on PATH; they live beside this interpreter.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PACKAGE_DIR.glob("*.proto"))
    include = str(Path(grpc_tools.__file__).parent / "_proto")
    # google/rpc/status.proto ships with googleapis-common-protos (google.rpc.status_pb2).
    googleapis = str(Path(status_pb2.__file__).resolve().parents[2])
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"-I{googleapis}",
        f"--python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def _generated_files(directory: Path) -> dict[str, Path]:
    return {p.name: p for p in (directory / "bylaw" / "v1").glob("*") if p.name.endswith(GENERATED_SUFFIXES)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if generated code is stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        (out / "bylaw" / "v1").mkdir(parents=True)
        _generate(out)
        fresh = _generated_files(out)
        committed = _generated_files(PROTO_ROOT)
        if args.check:
            stale = sorted(
                name
                for name in fresh.keys() | committed.keys()
                if name not in fresh
                or name not in committed
                or not filecmp.cmp(fresh[name], committed[name], shallow=False)
            )
            if stale:
                print("generated gRPC code is stale; run `make protos`:", *stale, sep="\n  ")
                return 1
            print(f"generated gRPC code is up to date ({len(fresh)} files)")
            return 0
        for name, path in committed.items():
            if name not in fresh:
                path.unlink()
        for name, path in fresh.items():
            shutil.copyfile(path, PACKAGE_DIR / name)
        print(f"wrote {len(fresh)} files to {PACKAGE_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
