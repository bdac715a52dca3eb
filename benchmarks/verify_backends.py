"""Sweep `kerasfix verify --backend tensorflow,jax,torch` over the fixture programs that build models.

Runs one `kerasfix verify` per fixture group (one heavy job at a time), prints a per-model table (model,
TensorFlow/JAX/PyTorch status, the largest output difference of JAX and PyTorch from TensorFlow, the oracle
that built the original) and writes it as JSON (default benchmarks/results/verify_backends.json). A model
listed in EXCEPTIONS is expected not to verify, for the reason given; any other model that does not verify
on every backend makes the exit code 1.

Usage: python benchmarks/verify_backends.py [--steps N] [--groups functional,scripts,...] [--output FILE]
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
BACKENDS = ("tensorflow", "jax", "torch")

# fixtures/verify holds the sandbox's adversarial programs too (exits, crashes, sockets, endless loops);
# only these of its programs build models.
VERIFY_MODELS = ("dataset_shapes.py", "keras1_layer_zoo.py", "merge_sequentials.py", "layers_do_not_fit.py")
GROUPS = ("functional", "scripts", "catalogue", "portable", "verify")

# (file name, model name or "*") -> why it does not verify; the same on every backend unless said otherwise.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("unfixable.py", "*"): "Keras 1 `merge()` function with a Python callable mode has no safe rewrite (KF101 "
    "left unfixed): the migrated program does not import on any backend, TensorFlow included",
    ("validity_typos.py", "*"): "misspelt names on purpose (BatchNormalisation...): KF301/KF302 report them "
    "without a safe fix, so the program does not import on any backend",
    ("classes_keras1_removed_layers.py", "*"): "Highway and LocallyConnected2D are gone from Keras 3 with no "
    "rewrite (KF303, KF335 left unfixed): the migrated program does not import on any backend",
    ("keras1_initializations_irnn.py", "*"): "a Keras 1 initializer function `f(shape, name)` (KF378 left "
    "unfixed): Keras 3 calls initializers with `dtype`, so the migrated model does not build on any backend",
    ("backend_train_phase_layers.py", "*"): "`K.in_test_phase` has no Keras 3 equivalent (KF399 left "
    "unfixed): the migrated layer does not build on any backend",
    ("guide_keras2_features.py", "*"): "`Layer.add_metric` and the other Keras 2 features of the guide "
    "removed in Keras 3 (KF340-KF348 left unfixed): the migrated model does not build on any backend",
    ("layers_keras1_conv_autoencoder.py", "*"): "channels_first convolutions: TensorFlow runs them only on a "
    "GPU, so on CPU there is no TensorFlow build to compare JAX and PyTorch with (verify with --device gpu)",
    ("training_keras2_sequence_workers.py", "*"): "the original calls `layer.get_output(train=False)` "
    "(Keras 0.x), which neither the compatibility layer nor tf-keras builds; JAX and PyTorch build and train "
    "the migrated model and agree with TensorFlow's",
    ("classes_keras2_cudnn.py", "*"): "oracle only: tf-keras has no CuDNNGRU/CuDNNLSTM (standalone Keras "
    "2.0-2.3 layers), so the real Keras 2 cannot build the original; the migrated model builds, trains and "
    "agrees on all three backends",
    ("layers_do_not_fit.py", "broken"): "written so that its layers do not fit together (a sum of Dense(32) "
    "and Dense(16)): it fails to build on every backend, the original too, by design",
}


def fixture_files(group: str) -> list[Path]:
    folder = ROOT / "fixtures" / group
    if group == "verify":
        return [folder / name for name in VERIFY_MODELS if (folder / name).exists()]
    return [p for p in sorted(folder.glob("*.py")) if not p.name.endswith(".fixed.py")]


def exception_for(file: str, name: str) -> str | None:
    base = Path(file).name
    return EXCEPTIONS.get((base, name)) or EXCEPTIONS.get((base, "*"))


def run_group(group: str, steps: int, timeout: int) -> dict:
    files = fixture_files(group)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [sys.executable, "-m", "kerasfix", "verify", "--backend", ",".join(BACKENDS),
               "--output-format", "json", "--steps", str(steps), "--timeout", str(timeout), *map(str, files)]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return {"group": group, "files": len(files), "seconds": round(elapsed, 2), "exit_code": result.returncode,
                "error": result.stderr[-2000:], "models": [], "notes": []}
    return {"group": group, "files": len(files), "seconds": round(elapsed, 2), "exit_code": result.returncode,
            "models": report.get("models", []), "notes": report.get("notes", []),
            "versions": report.get("backends"), "error": None}


def backend_status(entry: dict | None) -> str:
    if not entry:
        return "-"
    if entry.get("built") and entry.get("trained") and not entry.get("error") and not entry.get("differences"):
        return "ok"
    if not entry.get("built"):
        return "no-build"
    if entry.get("differences"):
        return "differs"
    return "no-train"


def row_for(group: str, model: dict) -> dict:
    backends = model.get("backends") or {}
    diffs = [backends.get(b, {}).get("max_output_diff") for b in BACKENDS[1:]]
    diffs = [d for d in diffs if d is not None]
    errors = {b: (backends.get(b, {}).get("error") or {}).get("message") for b in BACKENDS
              if isinstance(backends.get(b, {}).get("error"), dict)}
    ok = all(backend_status(backends.get(b)) == "ok" for b in BACKENDS) and bool(model.get("verified"))
    return {
        "group": group,
        "file": model.get("file"),
        "model": model.get("name"),
        "status": {b: backend_status(backends.get(b)) for b in BACKENDS},
        "max_output_diff": max(diffs) if diffs else None,
        "oracle": model.get("oracle"),
        "oracle_differences": (model.get("differences") or []) + ((model.get("static") or {}).get("differences") or []),
        "verified": ok,
        "errors": errors,
        "exception": exception_for(model.get("file") or "", model.get("name") or ""),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1, help="training steps per model and backend (default: 1)")
    parser.add_argument("--timeout", type=int, default=300, help="per-file limit in seconds (default: 300)")
    parser.add_argument("--groups", default=",".join(GROUPS), help="fixture folders, comma-separated")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "verify_backends.json")
    args = parser.parse_args(argv)
    rows, groups = [], []
    for group in [g for g in args.groups.split(",") if g]:
        result = run_group(group, args.steps, args.timeout)
        groups.append({k: result[k] for k in ("group", "files", "seconds", "exit_code", "error")})
        rows += [row_for(group, model) for model in result["models"]]
        if result["error"]:
            print(f"{group}: kerasfix verify gave no JSON: {result['error'][-400:]}", file=sys.stderr)
    header = f"{'model':58} {'tensorflow':10} {'jax':9} {'torch':9} {'max diff':>9}  oracle"
    print(header)
    print("-" * len(header))
    for row in rows:
        diff = "-" if row["max_output_diff"] is None else f"{row['max_output_diff']:.1e}"
        label = f"{Path(row['file']).parent.name}/{Path(row['file']).name}:{row['model']}"
        status = row["status"]
        mark = "" if row["verified"] else ("  (exception)" if row["exception"] else "  UNEXPECTED")
        print(f"{label[:58]:58} {status['tensorflow']:10} {status['jax']:9} {status['torch']:9} {diff:>9}  "
              f"{row['oracle']}{mark}")
    unexpected = [r for r in rows if not r["verified"] and not r["exception"]]
    verified = sum(r["verified"] for r in rows)
    seconds = sum(g["seconds"] for g in groups)
    print(f"\n{len(rows)} models: {verified} verified on all three backends, "
          f"{len(rows) - verified - len(unexpected)} documented exceptions, {len(unexpected)} unexpected failures; "
          f"{seconds:.0f} s")
    for row in rows:
        if row["oracle"] == "tf-keras" and row["oracle_differences"]:
            print(f"  oracle difference {row['file']}:{row['model']}: {'; '.join(row['oracle_differences'])[:200]}")
    for row in unexpected:
        print(f"  unexpected: {row['file']}:{row['model']}: {row['errors']}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "backends": list(BACKENDS), "steps": args.steps, "cpus": os.cpu_count(), "groups": groups,
        "models": rows, "verified": verified, "unexpected": len(unexpected),
        "exceptions": {f"{f}:{m}": why for (f, m), why in EXCEPTIONS.items()}, "seconds": round(seconds, 2),
    }, indent=2) + "\n")
    return 1 if unexpected or any(g["error"] for g in groups) else 0


if __name__ == "__main__":
    sys.exit(main())
