#!/usr/bin/env python3
"""Four Python threads scoring one model against the same calls made one after another, with one
library thread per call (ctypes releases the GIL, so the threads' calls run in parallel).

    python3 bench/python_threads.py [--rows 20000] [--calls 8]
"""
import argparse
import threading
import time

import numpy as np

from aefeatures import NativeModel, set_num_threads

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--rows", type=int, default=20000)
parser.add_argument("--calls", type=int, default=8, help="score calls per thread")
args = parser.parse_args()

set_num_threads(1)
rng = np.random.default_rng(0)
x = rng.uniform(size=(args.rows, 784)).astype(np.float32)
model = NativeModel.create({"input_shape": [784], "hidden_units": [256, 64], "code_size": 16, "training": {"epochs": 1}})
model.fit(x[:2000])
expected = model.score(x)


def work():
    for _ in range(args.calls):
        assert np.array_equal(model.score(x), expected)


best = {}
for label, threads in [("serial", 1), ("4 threads", 4)]:
    for _ in range(3):
        start = time.perf_counter()
        if threads == 1:
            for _ in range(4):
                work()
        else:
            pool = [threading.Thread(target=work) for _ in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
        best[label] = min(best.get(label, 1e9), time.perf_counter() - start)
rows = 4 * args.calls * args.rows
for label, seconds in best.items():
    print(f"{label:10s} {seconds:6.2f} s  {rows / seconds:10,.0f} rows/s")
print(f"speed-up {best['serial'] / best['4 threads']:.2f}x with 4 threads on {len(__import__('os').sched_getaffinity(0))} cores; results identical")
