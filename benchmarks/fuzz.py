"""Fuzz doorstep's conversion with mutated PDF and PNG bytes and count what comes back.

    python -m benchmarks.fuzz [--cases 2000] [--seed 1]

Every case must end as a Document with status ok / partial / failed and, when
failed, a typed error. An ``INTERNAL`` record (a bug) or an exception escaping
``convert`` counts as unhandled; the target is zero. Prints a table.
"""

from __future__ import annotations

import argparse
import collections
import random
import tempfile
import time
from pathlib import Path

from fixtures.robust import fuzz_seeds, mutate
from pipelines.config import ExtractConfig, OcrMode, PipelineConfig
from pipelines.convert import convert


def run(cases: int, seed: int) -> tuple[collections.Counter[str], list[str], float]:
    seeds = fuzz_seeds()
    rng = random.Random(seed)
    cfg = PipelineConfig(extract=ExtractConfig(ocr=OcrMode.NEVER))
    outcomes: collections.Counter[str] = collections.Counter()
    unhandled: list[str] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(cases):
            kind = rng.choice(sorted(seeds))
            path = Path(tmp) / f"case{i}.{kind}"
            path.write_bytes(mutate(seeds[kind], rng))
            try:
                doc = convert(path, cfg)
            except BaseException as exc:  # escaped: exactly what must never happen
                unhandled.append(f"case {i} ({kind}): escaped {type(exc).__name__}: {exc}")
                continue
            finally:
                path.unlink(missing_ok=True)
            codes = [e.code for e in doc.errors]
            if "INTERNAL" in codes:
                unhandled.append(f"case {i} ({kind}): INTERNAL {doc.errors}")
            shown = codes[0] if doc.status in ("failed", "skipped") and codes else ""
            key = f"{kind} {doc.status} {shown}".rstrip()
            outcomes[key] += 1
    return outcomes, unhandled, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.fuzz")
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    outcomes, unhandled, seconds = run(args.cases, args.seed)
    print(f"{'outcome':<32}{'cases':>8}")
    print("-" * 40)
    for key, n in sorted(outcomes.items()):
        print(f"{key:<32}{n:>8}")
    print("-" * 40)
    print(f"{'total':<32}{sum(outcomes.values()):>8}")
    print(f"{'unhandled (target 0)':<32}{len(unhandled):>8}")
    print(f"{'seconds':<32}{seconds:>8.1f}")
    for line in unhandled[:20]:
        print("  " + line)
    return 1 if unhandled else 0


if __name__ == "__main__":
    raise SystemExit(main())
