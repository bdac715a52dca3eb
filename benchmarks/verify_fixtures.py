"""Time `kerasfix verify` over the tutorial fixtures (the Keras 1/2 guide and example programs).

Target: under a minute on 2 CPU cores, TensorFlow's import included. Prints the time; with --output,
also writes it as JSON. Usage: python benchmarks/verify_fixtures.py [--output FILE] [PATH ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60.0


def tutorial_fixtures() -> list[Path]:
    """The legacy programs of fixtures/functional and fixtures/scripts (not their migrated .fixed.py)."""
    found = []
    for group in ("functional", "scripts"):
        found += [p for p in sorted((ROOT / "fixtures" / group).glob("*.py")) if not p.name.endswith(".fixed.py")]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files to verify (default: the tutorial fixtures)")
    parser.add_argument("--output", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    files = args.paths or tutorial_fixtures()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "kerasfix", "verify", "--format", "json", *map(str, files)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - started
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        print(result.stderr[-3000:], file=sys.stderr)
        return 2
    models = report["models"]
    verified = sum(1 for m in models if m.get("verified"))
    summary = {
        "files": len(files),
        "models": len(models),
        "verified": verified,
        "exit_code": result.returncode,
        "seconds": round(elapsed, 2),
        "worker_startup_seconds": report.get("worker_startup_seconds"),
        "target_seconds": TARGET_SECONDS,
        "cpus": os.cpu_count(),
        "device": report.get("device"),
    }
    print(f"kerasfix verify: {len(files)} files, {verified}/{len(models)} models verified, exit {result.returncode}, "
          f"{elapsed:.1f} s (TensorFlow worker start {summary['worker_startup_seconds']} s; target < {TARGET_SECONDS:g} s)")
    for model in models:
        if not model.get("verified"):
            error = (model.get("error") or {}).get("message") or "; ".join(model.get("differences", []))
            print(f"  not verified: {model['file']} {model['name']}: {error[:160]}")
    if args.output:
        args.output.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if elapsed < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
