"""The fault matrix of ``bcba maak`` as a table (not a test; prints what the tests measured).

Runs ``tests/test_faults.py`` (every case through the real CLI in a subprocess, about three
minutes on two idle cores) with ``BCBA_FOUTMATRIX`` naming a JSON file the tests fill in, then
prints one line per case and the totals of issue 16. The audit tamperings are the cases of
``tests/test_audit.py::test_every_tampering_is_detected`` (run here too; seconds). Run::

    python benchmarks/fault_matrix.py [-k EXPRESSION]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pytest(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    return done.returncode, done.stdout + done.stderr


def _counts(output: str) -> dict[str, int]:
    found = dict.fromkeys(("passed", "failed", "skipped", "error", "errors"), 0)
    for number, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)\b", output):
        found[word] += int(number)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only the cases matching this pytest expression")
    args = parser.parse_args()
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "matrix.json"
        extra = ["-k", args.k] if args.k else []
        code, output = _pytest(
            ["tests/test_faults.py", "-rfE", *extra], dict(env, BCBA_FOUTMATRIX=str(target))
        )
        matrix = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
    _, audit_output = _pytest(["tests/test_audit.py", "-k", "every_tampering_is_detected"], env)

    cases = failures = clean = tracebacks = left = names = procs = formulas = 0
    print(f"{'groep':<9} {'geval':<34} {'exit':>4} {'s':>6}  uitkomst")
    for section, entries in matrix.items():
        for case, facts in entries.items():
            cases += 1
            tracebacks += bool(facts.get("traceback"))
            if "nette_fout" in facts:
                failures += 1
                clean += bool(facts["nette_fout"])
            left += facts.get("bestanden_over", 0)
            names += facts.get("namen_buiten_rapportmap", 0)
            procs += facts.get("processen_over", 0)
            formulas += facts.get("formulecellen", 0)
            shown = {
                k: v
                for k, v in facts.items()
                if k not in ("melding", "over", "exit", "seconden", "traceback")
            }
            exit_code = facts.get("exit", "")
            seconds = facts.get("seconden", "")
            print(f"{section:<9} {case:<34} {exit_code!s:>4} {seconds!s:>6}  {shown}")
            if facts.get("melding"):
                print(f"{'':<9} {'':<34} {'':>4} {'':>6}  melding: {facts['melding'][:150]!r}")
    tamper = _counts(audit_output)
    kills = len(matrix.get("kill_9", {}))
    print()
    print(f"gevallen geprobeerd                       {cases}")
    print(f"nette Nederlandse fout (exit 2)           {clean} van {failures} foutgevallen")
    print(f"tracebacks                                {tracebacks}")
    print(f"processen over na kill -9 ({kills}x)           {procs}")
    print(f"bestanden over na kill -9 en fouten       {left}")
    print(f"namen buiten de rapportmap                {names}")
    print(f"formulecellen in CSV/XLSX-uitvoer         {formulas}")
    print(
        f"manipulaties van het auditlog ontdekt     {tamper['passed']} van "
        f"{tamper['passed'] + tamper['failed']}"
    )
    print()
    took = re.search(r" in ([\d.]+)s", output)
    print(
        "pytest tests/test_faults.py:",
        ", ".join(f"{v} {k}" for k, v in _counts(output).items() if v),
        f"in {took.group(1)} s" if took else "",
    )
    if code:
        print(output[-4000:])
    return code


if __name__ == "__main__":
    sys.exit(main())
