"""What the Python binding adds to a batch-of-one call: `NativeModel.transform` of one row against
the bare ctypes call of aef_model_transform with its pointers worked out beforehand, and against
a call the library rejects at once (zero rows: ctypes and the library's argument check alone).

    python3 bench/python_call.py MODEL.aef [--threads 2] [--repeats 5]

Rows are the first 2,000 Fashion-MNIST test images, one call each; the three loops alternate,
three rounds of `--repeats` passes. Prints the least and the median microseconds a call of each
loop over all passes, then one JSON line."""
import argparse
import json
import statistics
import time

import numpy as np

import aefeatures
from aefeatures import _native
from aefeatures._model import _pointer

from fashion_data import load


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    aefeatures.set_num_threads(args.threads)
    model = aefeatures.NativeModel.load(args.model)
    rows = [np.ascontiguousarray(row[None, :]) for row in load("test")[0][:2000]]
    width, code = rows[0].shape[1], model.code_size
    outputs = [np.empty((1, code), dtype=np.float32) for _ in rows]
    pointers = [(_pointer(row), _pointer(out)) for row, out in zip(rows, outputs)]
    function, handle = _native.lib.aef_model_transform, model._handle

    def wrapped():
        for row in rows:
            model.transform(row)

    def bare():
        for x, y in pointers:
            function(handle, x, 1, width, y, code)

    def rejected():
        for x, y in pointers:
            function(handle, x, 0, width, y, code)

    loops = {"wrapped": wrapped, "bare": bare, "rejected": rejected}
    times = {name: [] for name in loops}
    for _ in range(3):
        for name, loop in loops.items():
            for _ in range(args.repeats):
                start = time.perf_counter()
                loop()
                times[name].append((time.perf_counter() - start) / len(rows) * 1e6)
    result = {name: {"min_us": round(min(t), 2), "median_us": round(statistics.median(t), 2)} for name, t in times.items()}
    for name, r in result.items():
        print(f"{name:9} {r['min_us']:6.2f} us least, {r['median_us']:6.2f} us median a call")
    print(json.dumps({"model": args.model, "threads": args.threads, **result}))


if __name__ == "__main__":
    main()
