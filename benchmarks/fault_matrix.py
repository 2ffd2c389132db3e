"""The fault matrix of ``bcba maak`` as a table (not a test; prints what the tests measured).

Runs ``tests/test_faults.py`` (every case through the real CLI in a subprocess, about ten
minutes on two cores) with ``BCBA_FOUTMATRIX`` naming a JSON file the tests fill in, then
prints one line per case and the totals the issue asks for. The audit tamperings come from
``tests/test_audit.py`` (run here too, it takes seconds). Run::

    python benchmarks/fault_matrix.py [-k EXPRESSION]

Formula cells in CSV/XLSX outputs are counted by the tests of ``bcba/io.py``, not here.
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
    found = dict.fromkeys(("passed", "failed", "xfailed", "xpassed", "skipped", "error"), 0)
    for number, word in re.findall(r"(\d+) (passed|failed|xfailed|xpassed|skipped|error)", output):
        found[word] = int(number)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only the cases matching this pytest expression")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "matrix.json"
        env = dict(os.environ, BCBA_FOUTMATRIX=str(target))
        extra = ["-k", args.k] if args.k else []
        code, output = _pytest(["tests/test_faults.py", "-rfE", *extra], env)
        matrix = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
    _, audit_output = _pytest(["tests/test_audit.py", "-k", "every_tampering"], dict(os.environ))

    cases = clean = tracebacks = left = names = procs = 0
    print(f"{'groep':<14} {'geval':<38} uitkomst")
    for section, entries in matrix.items():
        for case, facts in entries.items():
            cases += 1
            tracebacks += bool(facts.get("traceback"))
            exit_code = facts.get("exit")
            if exit_code == 2 and not facts.get("traceback"):
                clean += 1
            left += facts.get("bestanden_over", 0)
            names += facts.get("namen_buiten_rapportmap", 0)
            procs += facts.get("processen_over", 0)
            shown = {k: v for k, v in facts.items() if k not in ("melding", "over")}
            print(f"{section:<14} {case:<38} {shown}")
    tamper = _counts(audit_output)
    print()
    print(f"gevallen geprobeerd                  {cases}")
    print(f"nette Nederlandse fout (exit 2)      {clean}")
    print(f"tracebacks                           {tracebacks}")
    print(f"processen over na kill -9            {procs}")
    print(f"bestanden over na kill -9            {left}")
    print(f"namen buiten de rapportmap           {names}")
    print("formulecellen in de uitvoer          (tests van bcba/io.py)")
    print(
        f"manipulaties van het auditlog ontdekt {tamper['passed']} van "
        f"{tamper['passed'] + tamper['failed']}"
    )
    print()
    print("pytest:", ", ".join(f"{v} {k}" for k, v in _counts(output).items() if v))
    if code:
        print(output[-4000:])
    return code


if __name__ == "__main__":
    sys.exit(main())
