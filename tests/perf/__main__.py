"""`python -m tests.perf [--quick] [--json FILE] [--only NAME …]`: every benchmark, each
against its reference in the same run; a table at the end and the same as JSON."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import traceback
from pathlib import Path

from tests.perf.harness import Result, render_table, write_json
from tests.perf.rig import Missing

BENCHMARKS = (
    "tunnel_up",
    "throughput",
    "fleet",
    "console",
    "start",
    "probe",
    "liveness",
    "cluster",
    "watch",
    "scale",
)


def main() -> int:
    """Run, print, write; exit 1 if a target is missed, 2 if something needed is missing."""
    parser = argparse.ArgumentParser(prog="python -m tests.perf")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller payloads")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these")
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    results: list[Result] = []
    missing: list[str] = []
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(f"tests.perf.bench_{name}")
        print(f"== {name} …", file=sys.stderr, flush=True)
        try:
            produced = asyncio.run(
                module.run(repeats, quick=args.quick)
                if getattr(module, "HAS_QUICK", False)
                else module.run(repeats)
            )
        except Missing as error:
            missing.append(str(error))
            print(f"   skipped: {error}", file=sys.stderr)
            continue
        except Exception:  # noqa: BLE001 — one failed benchmark must not hide the others
            traceback.print_exc()
            continue
        batch = produced if isinstance(produced, list) else [produced]
        for result in batch:
            print(f"   {result.measure}: rac {result.rac.describe()}", file=sys.stderr)
        results.extend(batch)
    print(render_table(results))
    if args.json:
        write_json(results, args.json, args.quick)
    for sentence in missing:
        print(f"missing: {sentence}", file=sys.stderr)
    if missing:
        return 2
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
