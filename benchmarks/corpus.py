#!/usr/bin/env python3
"""Measure kerasfix on the real-code corpus of issue 12: what `migrate --unsafe-fixes` leaves behind.

The corpus is the pinned third-party packages of corpus/packages.toml (fetched into .corpus/ by
corpus/fetch.py, first if needed) and our own programs in corpus/programs/. It is copied into a
temporary directory and run through the command line as users run it (`python -m kerasfix`, this
checkout on PYTHONPATH, `--isolated --no-cache`):

  files, lines            the corpus, by package
  findings before         `check --output-format json --select ALL`: total and by code
  migrate                 `migrate --unsafe-fixes`: files changed, errors it reported
  findings after          the same check on the migrated copy
  compile                 files that compile() before and after migrate; those that stop compiling
  second migrate          `migrate --unsafe-fixes` again: files it still changes (should be none)
  backend calls           calls of keras.backend functions (`K.sum(...)`, found with ast through every
                          import spelling) before and after, by function; those after split into the
                          functions Keras 3's keras.backend still has (epsilon, floatx, ...) and the rest
  internal errors         files kerasfix reported an internal error on, in any step
  verify (--verify)       `verify --output-format json` on the original programs and on the package files
                          that build models (packages.toml `models`): per file verified / failed / skipped
                          (a reason outside kerasfix) / no model found, with the reasons; the share verified
                          (issue 12) and verified or skipped (issue 13). Slow: one verify (one TensorFlow worker) per package.

Prints a table; writes everything to benchmarks/results/corpus.json (or --output).

Usage:
  python benchmarks/corpus.py                # fetch if needed, measure check/migrate
  python benchmarks/corpus.py --verify       # and kerasfix verify (minutes; `pip install -e '.[verify,corpus]'`
                                             # first, or the packages that need scikit-image are skipped)
  python benchmarks/corpus.py --keep DIR     # keep the migrated copy in DIR to look at
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import json
import platform
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
sys.path.insert(0, str(REPO))

from corpus import fetch as corpus_fetch  # noqa: E402
from corpus.measure import migrate_corpus, run_kerasfix  # noqa: E402


def _relative(name: str) -> str:
    return Path(name).as_posix().removeprefix("./")


def _calls(groups: set[str]) -> list[str]:
    """packages.toml `calls` of the packages in `groups`: how verify calls builders that need arguments."""
    return [call for package in corpus_fetch.load_packages() if package.key in groups for call in package.calls]


def verify(files: list[corpus_fetch.CorpusFile], timeout: float, fetched: list[corpus_fetch.FetchedPackage] | None = None) -> dict:
    """`kerasfix verify` on a fresh copy of the original model-building files: each file verified (every model
    built, matched and trained), failed (a model or the file failed for a reason of kerasfix's or the migration's),
    skipped (what did not verify stopped for a reason outside kerasfix that verify names: a package not installed,
    a data file only the user has, a GPU-only layout) or "no model" (verify found nothing it could build, e.g. only
    builder functions with required arguments: a limit of the harness, never counted as a skip). The percentages
    are of all the model-building files: verified (issue 12, target 85%) and verified or skipped (issue 13, 90%)."""
    chosen = [item for item in files if item.builds_models]
    # a package file runs as part of its package: every module of its distribution's packages is copied (verify
    # migrates them alike), and every fetched distribution is a source root (`--path`) whose packages a file may
    # import (keras-bert imports keras-transformer, which imports keras-multi-head, ...), migrated alike too
    modules = corpus_fetch.package_modules(fetched) if fetched is not None else [item for item in files if item.group != "programs"]
    with tempfile.TemporaryDirectory(prefix="kerasfix-corpus-verify-") as scratch:
        root = Path(scratch)
        copied = {item.relative: item for item in [*modules, *files] if item.builds_models or item.group != "programs"}
        corpus_fetch.copy_corpus(list(copied.values()), root)
        paths = [option for key in sorted({item.group for item in copied.values() if item.group != "programs"})
                 for option in ("--path", f"packages/{key}")]
        # one verify per package (and one for the programs), each with its own package's `calls`: a builder name
        # two packages share (ResNet50, get_model) is called as its own package says
        report: dict = {"models": [], "errors": [], "notes": []}
        seconds, returncode = 0.0, 0
        for group in sorted({item.group for item in chosen}):
            relatives = [item.relative for item in chosen if item.group == group]
            calls = [option for call in _calls({group}) for option in ("--call", call)]
            result, took = run_kerasfix(["verify", "--output-format", "json", "--timeout", str(timeout), *calls,
                                         *(paths if group != "programs" else []), *relatives], root,
                                        timeout=max(3600, 200 * len(relatives)))
            seconds += took
            returncode = max(returncode, result.returncode)
            try:
                part = json.loads(result.stdout)
            except ValueError:
                return {"seconds": round(seconds, 2), "returncode": result.returncode, "crashed": True, "group": group,
                        "output_tail": (result.stdout + result.stderr).strip()[-3000:]}
            for key in ("models", "errors", "notes"):
                report[key].extend(part.get(key, []))
            report.setdefault("worker_startup_seconds", part.get("worker_startup_seconds"))
    by_file: dict[str, dict] = {item.relative: {"group": item.group, "models": [], "errors": [], "notes": []} for item in chosen}
    for model in report.get("models", []):
        by_file.setdefault(_relative(model.get("file", "?")), {"group": "?", "models": [], "errors": [], "notes": []})["models"].append(model)
    for error in report.get("errors", []):
        by_file.setdefault(_relative(error.get("file", "?")), {"group": "?", "models": [], "errors": [], "notes": []})["errors"].append(error)
    for note in report.get("notes", []):
        by_file.setdefault(_relative(note.get("file", "?")), {"group": "?", "models": [], "errors": [], "notes": []})["notes"].append(note.get("note", ""))
    outcomes = {}
    for relative, record in by_file.items():
        failed = [m for m in record["models"] if not m.get("verified") and not m.get("skip")]
        failed_errors = [e for e in record["errors"] if not e.get("skip")]
        skips = [m["skip"] for m in record["models"] if not m.get("verified") and m.get("skip")]
        skips += [e["skip"] for e in record["errors"] if e.get("skip")]
        if failed_errors or failed:
            outcome, reason = "failed", _failure_reason(failed_errors, failed)
        elif skips:
            # every model that did not verify was skipped for a reason outside kerasfix (issue 13's honest skip)
            outcome, reason = "skipped", f"{skips[0]['label']}: {skips[0]['message']}"[:300]
        elif record["models"]:
            outcome, reason = "verified", f"{len(record['models'])} model(s)"
        else:
            # verify found no model to build: a limit of the harness (e.g. a builder function with required
            # arguments), not a reason outside kerasfix
            found = [note for note in record["notes"] if "no model found" in note] or record["notes"]
            outcome, reason = "no model", "; ".join(found) or "no model reported"
        outcomes[relative] = {"group": record["group"], "outcome": outcome, "reason": reason,
                              "models": len(record["models"]), "models_verified": sum(1 for m in record["models"] if m.get("verified"))}
    counts = Counter(o["outcome"] for o in outcomes.values())
    programs = [o for r, o in outcomes.items() if o["group"] == "programs"]
    files = len(outcomes)

    def percent(n: int) -> float:
        return round(100.0 * n / files, 1) if files else 0.0

    return {
        "seconds": round(seconds, 2),
        "returncode": returncode,
        "worker_startup_seconds": report.get("worker_startup_seconds"),
        "files": files,
        "verified": counts["verified"],
        "failed": counts["failed"],
        "skipped": counts["skipped"],
        "no_model": counts["no model"],
        # issue 12: files that verify (built, equal to the original, trained), of the model-building files
        "verified_percent": percent(counts["verified"]),
        # issue 13: files verified or skipped for a reason outside kerasfix, of the model-building files
        "verified_or_skipped_percent": percent(counts["verified"] + counts["skipped"]),
        "programs": dict(Counter(o["outcome"] for o in programs)),
        "packages": dict(Counter(o["outcome"] for o in outcomes.values() if o["group"] != "programs")),
        "models": len(report.get("models", [])),
        "models_verified": sum(1 for m in report.get("models", []) if m.get("verified")),
        "reasons": dict(Counter(_reason_kind(o) for o in outcomes.values() if o["outcome"] != "verified").most_common()),
        "by_file": outcomes,
    }


def _failure_reason(errors: list[dict], failed: list[dict]) -> str:
    for error in errors:
        return f"{error.get('type', 'Error')}: {error.get('message', '')}"[:300]
    for model in failed:
        error = model.get("error")
        if error:
            side = f" ({error['side']})" if error.get("side") else ""
            return f"{model.get('name')}: {error.get('type', 'Error')}{side}: {error.get('message', '')}"[:300]
        if model.get("differences"):
            return f"{model.get('name')}: {model['differences'][0]}"[:300]
        if not model.get("built"):
            return f"{model.get('name')}: not built"
        if model.get("shapes_match") is False or model.get("params_match") is False:
            return f"{model.get('name')}: layers differ from the original"
        if not model.get("trained"):
            return f"{model.get('name')}: did not train"
        return f"{model.get('name')}: outputs differ (max {model.get('max_output_diff')})"
    return "?"


def _reason_kind(outcome: dict) -> str:
    """A short class of reason, to count: the error type, or the note's first words."""
    reason = outcome["reason"]
    if outcome["outcome"] in ("skipped", "no model"):
        return f"{outcome['outcome']}: " + reason.split(":")[0].split(";")[-1].strip()[:80]
    text = reason.split(": ", 1)[1] if ": " in reason and not reason.split(": ", 1)[0].endswith("Error") else reason
    return "failed: " + re.split(r"[:(]", text, maxsplit=1)[0].strip()[:60]


def measure(args: argparse.Namespace) -> dict:
    fetched = corpus_fetch.fetch(args.cache)
    files = corpus_fetch.corpus_files(fetched)
    result = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "versions": _versions(),
        "packages": [{"name": f.package.name, "version": f.package.version, "license": f.package.license, "files": len(f.files),
                      "models": len(f.models)} for f in fetched],
        "programs": sum(1 for item in files if item.group == "programs"),
    }
    result.update(migrate_corpus(files, args.jobs, args.keep, progress=lambda message: print(message, file=sys.stderr)))
    result["verify"] = None
    if args.verify:
        print("verify (one TensorFlow worker; minutes) ...", file=sys.stderr)
        result["verify"] = verify(files, args.timeout, fetched)
    return result


def _versions() -> dict:
    found = {"python": platform.python_version(), "machine": platform.machine()}
    for name in ("kerasfix", "libcst", "keras", "tensorflow"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _codes(by_code: dict, limit: int = 12) -> str:
    items = list(by_code.items())
    text = ", ".join(f"{code} {n}" for code, n in items[:limit])
    return text + (f", ... ({len(items) - limit} more codes)" if len(items) > limit else "")


def print_report(result: dict) -> None:
    out = sys.stdout
    print(f"kerasfix {result['versions'].get('kerasfix')} on the real-code corpus: {len(result['packages'])} packages + "
          f"{result['programs']} programs = {result['files']} files, {result['lines']} lines", file=out)
    print(file=out)
    header = f"{'group':<40} {'files':>5} {'lines':>6} {'before':>6} {'after':>6} {'changed':>7} {'K before':>8} {'K after':>7} {'K gone3':>7} {'!compile':>8}"
    print(header, file=out)
    print("-" * len(header), file=out)
    rows = sorted(result["groups"].items(), key=lambda item: (item[0] == "programs", item[0]))
    total: Counter = Counter()
    for name, g in rows:
        total.update(g)
        print(f"{name:<40} {g.get('files', 0):>5} {g.get('lines', 0):>6} {g.get('findings_before', 0):>6} {g.get('findings_after', 0):>6} "
              f"{g.get('changed', 0):>7} {g.get('backend_calls_before', 0):>8} {g.get('backend_calls_after', 0):>7} "
              f"{g.get('backend_calls_not_in_keras3', 0):>7} {g.get('not_compiling', 0):>8}", file=out)
    print("-" * len(header), file=out)
    print(f"{'total':<40} {total['files']:>5} {total['lines']:>6} {total['findings_before']:>6} {total['findings_after']:>6} "
          f"{total['changed']:>7} {total['backend_calls_before']:>8} {total['backend_calls_after']:>7} "
          f"{total['backend_calls_not_in_keras3']:>7} {total['not_compiling']:>8}", file=out)
    print("(before/after: check --select ALL findings; K: keras.backend calls; K gone3: calls of functions Keras 3's "
          "keras.backend no longer has; !compile: compiled before migrate, not after)", file=out)
    print(file=out)
    fb, fa, m = result["findings_before"], result["findings_after"], result["migrate"]
    print(f"findings before migrate: {fb['total']} ({fb['fixable']} with a fix)   [{fb['seconds']} s]", file=out)
    print(f"  {_codes(fb['by_code'])}", file=out)
    print(f"migrate --unsafe-fixes: {m['files_changed']} files changed, exit {m['returncode']}   [{m['seconds']} s]   {m['summary']}", file=out)
    print(f"findings after migrate: {fa['total']}", file=out)
    print(f"  {_codes(fa['by_code'])}", file=out)
    c = result["compile"]
    print(f"compile(): {c['before']}/{result['files']} files before, {c['after']}/{result['files']} after; "
          f"{len(c['broken_by_migrate'])} broken by migrate", file=out)
    for item in c["broken_by_migrate"]:
        print(f"  {item['file']}: {item['error']}", file=out)
    for item in c["not_compiling_before"]:
        print(f"  (already before migrate) {item['file']}: {item['error']}", file=out)
    s = result["second_migrate"]
    print(f"second migrate --unsafe-fixes: {s['files_changed']} files changed", file=out)
    for name in s["files"]:
        print(f"  {name}", file=out)
    b = result["backend_calls"]
    print(f"keras.backend calls: {b['before']['total']} before, {b['after']['total']} after; "
          f"{b['after']['not_in_keras3']['total']} after are of functions Keras 3's keras.backend does not have", file=out)
    print(f"  after, gone from Keras 3: {_codes(b['after']['not_in_keras3']['by_function'], 40)}", file=out)
    ro = b["after"]["report_only"]
    print(f"  of those, {ro['total']} are of functions with no Keras 3 equivalent (reported with guidance): {_codes(ro['by_function'], 40)}", file=out)
    print(f"  and {len(b['after']['sites_with_rewrite'])} are of functions the catalogue rewrites, left unfixed:", file=out)
    for site in b["after"]["sites_with_rewrite"]:
        print(f"    {site}", file=out)
    still = {k: v for k, v in b["after"]["by_function"].items() if k not in b["after"]["not_in_keras3"]["by_function"]}
    if still:
        print(f"  after, still in Keras 3: {_codes(still, 20)}", file=out)
    print(f"internal errors: {len(result['internal_errors'])}", file=out)
    for item in result["internal_errors"]:
        print(f"  {item['file']}: {item['message']}", file=out)
    for step in result["crashed"]:
        print(f"kerasfix crashed in step {step}:\n{result['crash_output'][step]}", file=out)
    other = [(step, e) for step, errors in result["file_errors"].items() for e in errors]
    if other:
        print(f"other file errors: {len(other)}", file=out)
        for step, e in other[:20]:
            print(f"  {step}: {e['file']}: {e['message']}", file=out)
    v = result.get("verify")
    if v:
        if v.get("crashed"):
            print(f"verify: did not produce a report (exit {v['returncode']}):\n{v['output_tail']}", file=out)
            return
        print(f"verify: {v['files']} files that build models: {v['verified']} verified, {v['failed']} failed, "
              f"{v['skipped']} skipped (a reason outside kerasfix), {v.get('no_model', 0)} with no model verify could build "
              f"({v['models_verified']}/{v['models']} models verified)   [{v['seconds']} s]", file=out)
        print(f"  issue 12: {v['verified']}/{v['files']} files verified = {v.get('verified_percent')}% (target 85%)", file=out)
        print(f"  issue 13: {v['verified'] + v['skipped']}/{v['files']} files verified or skipped with a reason outside "
              f"kerasfix = {v.get('verified_or_skipped_percent')}% (target 90%)", file=out)
        print(f"  programs: {v['programs']}   packages: {v['packages']}", file=out)
        for reason, n in v["reasons"].items():
            print(f"  {n:>3}  {reason}", file=out)
        for name, o in sorted(v["by_file"].items()):
            if o["outcome"] != "verified":
                print(f"  {o['outcome']:<8} {name}: {' '.join(o['reason'].split())[:300]}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verify", action="store_true", help="also run kerasfix verify on the model-building files (slow)")
    parser.add_argument("--timeout", type=float, default=120, help="verify: per-file limit in seconds (default 120)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes for check and migrate (default: kerasfix's)")
    parser.add_argument("--cache", type=Path, default=None, help="corpus cache (default: .corpus/ or $KERASFIX_CORPUS_CACHE)")
    parser.add_argument("--keep", type=Path, default=None, help="copy the migrated corpus here")
    parser.add_argument("--output", type=Path, default=RESULTS / "corpus.json", help="JSON results (default: benchmarks/results/corpus.json)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        result = measure(args)
    except corpus_fetch.FetchError as error:
        print(f"corpus.py: cannot fetch the corpus: {error}", file=sys.stderr)
        return 1
    result["seconds"] = round(time.perf_counter() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_report(result)
    print(f"\n{result['seconds']} s in all; JSON in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
