"""Time `import aefeatures` (and numpy alone, which it imports) in fresh interpreters.

    python3 bench/python_import.py [--runs 15]
"""
import argparse
import statistics
import subprocess
import sys


def import_ms(module):
    """Cumulative import time of `module` in microseconds, from -X importtime, in a new process."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                         capture_output=True, text=True, check=True).stderr
    line = [l for l in out.splitlines() if l.rstrip().endswith(f"| {module}")][-1]
    return int(line.split("|")[1]) / 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    for module in ("numpy", "aefeatures"):
        times = sorted(import_ms(module) for _ in range(a.runs))
        print(f"import {module:<11} min {times[0]:6.1f} ms  median {statistics.median(times):6.1f} ms  ({a.runs} runs)")


if __name__ == "__main__":
    main()
