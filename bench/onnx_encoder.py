"""Encoder inference: the library (through its C API, called with ctypes) against onnxruntime
running the encoder the library exported, on the same model, images and thread count.

    python3 bench/onnx_encoder.py MODEL.aef [MODEL.aef ...] [--threads 2] [--repeats 3]

Models come from `swift run -c release aef-bench --workload W1 --save-model w1.aef` (bench/compare
does this for every workload). For each: exports the encoder, checks the two agree on the
10,000 Fashion-MNIST test images, then times both at batch 1024 (all images) and batch 1 (2,000
images) over --repeats passes alternating between the two: the rate of each side's best pass (the
one this shared machine disturbed least), and the median pass in the JSON. Both sides are called
from Python, so both pay a Python call per batch. Prints one line per model, then one JSON line."""
import argparse
import gzip
import json
import time

import numpy as np
import onnxruntime as ort

import aefeatures

TEST_IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def images():
    with gzip.open(TEST_IMAGES) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255


def rates(functions, x, batch, repeats):
    """Samples per second of each function over x in batches of `batch`, (best, median) of
    `repeats` passes, the functions alternating pass by pass so a noisy moment hits both alike."""
    count = len(x) if batch > 1 else min(len(x), 2000)
    chunks = [np.ascontiguousarray(x[i:i + batch]) for i in range(0, count - batch + 1, batch)]
    timings = [[] for _ in functions]
    for function in functions:
        function(chunks[0])  # warm-up
    for _ in range(repeats):
        for function, times in zip(functions, timings):
            time.sleep(0.3)  # lets the other side's idle threads (both spin-wait) go to sleep first
            start = time.perf_counter()
            for chunk in chunks:
                function(chunk)
            times.append(len(chunks) * batch / (time.perf_counter() - start))
    return [(max(times), float(np.median(times))) for times in timings]


def bench(path, x, threads, repeats):
    model = aefeatures.NativeModel.load(path)
    start = time.perf_counter()
    encoder = model.export_onnx("encoder")
    export_s = time.perf_counter() - start
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(encoder, options, providers=["CPUExecutionProvider"])
    run_ort = lambda chunk: session.run(None, {"input": chunk})[0]
    ours, theirs = model.transform(x), np.concatenate([run_ort(x[i:i + 1024]) for i in range(0, len(x), 1024)])
    result = {"model": str(path), "onnx_bytes": len(encoder), "export_s": round(export_s, 4),
              "max_abs_diff": float(np.max(np.abs(ours - theirs)))}
    for batch in (1024, 1):
        (ours, ours_median), (theirs, theirs_median) = rates([model.transform, run_ort], x, batch, repeats)
        result[f"aef_b{batch}_per_s"], result[f"ort_b{batch}_per_s"] = round(ours), round(theirs)
        result[f"aef_over_ort_b{batch}"] = round(ours / theirs, 2)
        result[f"aef_b{batch}_per_s_median"], result[f"ort_b{batch}_per_s_median"] = round(ours_median), round(theirs_median)
        result[f"aef_over_ort_b{batch}_median"] = round(ours_median / theirs_median, 2)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    aefeatures.set_num_threads(args.threads)
    x = images()
    results = []
    for path in args.models:
        results.append(bench(path, x, args.threads, args.repeats))
        r = results[-1]
        print(f"{path}: batch 1024 aef {r['aef_b1024_per_s']:,}/s vs onnxruntime {r['ort_b1024_per_s']:,}/s "
              f"({r['aef_over_ort_b1024']}x); batch 1 aef {r['aef_b1_per_s']:,}/s vs onnxruntime "
              f"{r['ort_b1_per_s']:,}/s ({r['aef_over_ort_b1']}x); max |diff| {r['max_abs_diff']:.1e}", flush=True)
    print(json.dumps({"threads": args.threads, "onnxruntime": ort.__version__, "results": results}))


if __name__ == "__main__":
    main()
