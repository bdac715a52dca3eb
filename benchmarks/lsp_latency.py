#!/usr/bin/env python3
"""How long an editor waits for kerasfix's diagnostics: the time from sending `textDocument/didChange`
to receiving the `publishDiagnostics` of that version, from `kerasfix server` over stdio, on a 500-line
Keras file made of the legacy fixture programs (target: under 150 ms).

Each edit changes one number on one line (as a keystroke does), so every analysis is of new text.
Printed: the median, 90th percentile, minimum and maximum over --edits edits (the server's debounce,
30 ms unless --debounce says otherwise, is part of what is measured, as it is of what a user waits
for), the in-process analysis time of the same text (`kerasfix check`'s engine alone, so the server's
own share can be told apart), and the load average. JSON goes to benchmarks/results/lsp_latency.json.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from lsp_client import LspClient  # noqa: E402

LINES = 500


def keras_file(lines: int = LINES) -> str:
    """`lines` lines of legacy Keras programs: the fixture programs one after another, cut after the
    last top-level statement that ends within `lines`, and padded to `lines` with comment lines."""
    programs = sorted(p for p in (ROOT / "fixtures").rglob("*.py") if not p.name.endswith(".fixed.py"))
    taken: list[str] = []
    for program in programs:
        taken.extend(program.read_text(encoding="utf-8").splitlines())
        if len(taken) >= lines:
            break
    ends = [node.end_lineno for node in ast.parse("\n".join(taken)).body if node.end_lineno <= lines]
    kept = taken[: max(ends)]
    return "\n".join(kept + ["# padding"] * (lines - len(kept))) + "\n"


def _analysis_time(text: str, repeats: int) -> tuple[float, float]:
    """The engine's median wall time and CPU time on `text`, in this process (the CPU time is what a
    machine without other work would take, about)."""
    from kerasfix.buffers import file_settings
    from kerasfix.engine import check_source
    from kerasfix.source import Source

    settings = file_settings(ROOT / "bench.py").settings
    check_source(Source(path=Path("bench.py"), text=text, raw=b""), settings)  # imports and tables loaded once
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        check_source(Source(path=Path("bench.py"), text=text, raw=b""), settings)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=30, help="edits measured (default: 30)")
    parser.add_argument("--debounce", type=float, default=None, metavar="MS", help="the server's debounce (default: its own, 30 ms)")
    args = parser.parse_args()

    text = keras_file()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        path = root / "model.py"
        path.write_text(text)
        client = LspClient(root, root / "stderr.txt")
        try:
            client.initialize(root, {"debounce": args.debounce} if args.debounce is not None else None)
            uri = client.open(path, text)
            findings = len(client.diagnostics(uri, version=1, timeout=300))
            # the line edited: a top-level assignment of a number, so each edit keeps the program valid
            line = next(i for i, row in enumerate(text.splitlines()) if row.split("=")[-1].strip().isdigit() and not row.startswith(" "))
            column = len(text.splitlines()[line])
            latencies = []
            for version in range(2, args.edits + 2):
                position = {"line": line, "character": column}
                started = time.perf_counter()
                client.notify("textDocument/didChange", {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"range": {"start": position, "end": position}, "text": str(version % 10)}],
                })
                client.diagnostics(uri, version=version, timeout=300)
                latencies.append(time.perf_counter() - started)
                column += 1
        finally:
            client.close()
    engine, engine_cpu = _analysis_time(text, 5)
    load_after = os.getloadavg()
    latencies.sort()
    result = {
        "lines": len(text.splitlines()),
        "findings": findings,
        "edits": len(latencies),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p90_ms": round(latencies[int(0.9 * (len(latencies) - 1))] * 1000, 1),
        "min_ms": round(latencies[0] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "engine_median_ms": round(engine * 1000, 1),
        "engine_cpu_median_ms": round(engine_cpu * 1000, 1),
        "target_ms": 150,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    print(f"didChange -> publishDiagnostics, {result['lines']}-line Keras file, {findings} findings, {len(latencies)} edits:")
    print(f"  median {result['median_ms']} ms, p90 {result['p90_ms']} ms, min {result['min_ms']} ms, max {result['max_ms']} ms (target < 150 ms)")
    print(f"  the engine alone on the same text, in-process median: {result['engine_median_ms']} ms wall, {result['engine_cpu_median_ms']} ms CPU")
    print(f"  load average before {result['load_average_before']}, after {result['load_average_after']} on {os.cpu_count()} cores")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "lsp_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
