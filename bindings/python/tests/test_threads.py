"""Python threads on one model: ctypes releases the GIL during every call into the library, so
threads score in parallel with identical results; fit and other calls on one model refuse each
other with AEFBusyError instead of reading half-written weights."""
import os
import threading
import time

import numpy as np
import pytest

from aefeatures import AEFBusyError, NativeModel, get_num_threads, set_num_threads

from conftest import structured

SPEC = {"input_shape": [12], "hidden_units": [256, 256], "code_size": 4, "training": {"epochs": 2, "batch_size": 64}}


@pytest.fixture
def one_thread_each():
    """One library thread per call, so Python threads are the only parallelism (restored after)."""
    before = get_num_threads()
    set_num_threads(1)
    yield
    set_num_threads(before)


@pytest.fixture(scope="module")
def model_and_rows():
    x = np.ascontiguousarray(structured(4000, seed=3), dtype=np.float32)
    model = NativeModel.create({**SPEC, "seed": 5})
    model.fit(x[:1000])
    return model, x


def test_calls_release_the_gil(model_and_rows, one_thread_each):
    """While one thread is inside a long score call, another runs Python code at its full pace.
    Were the GIL held for the call, the counter could move only during one switch interval (5 ms)
    of a call lasting 40 times longer or more."""
    model, x = model_and_rows
    rows = x
    while True:  # a call long enough to tell, on a fast machine too
        start = time.perf_counter()
        model.score(rows)
        call_seconds = time.perf_counter() - start
        if call_seconds > 0.2 or len(rows) > 4_000_000:
            break
        rows = np.ascontiguousarray(np.tile(rows, (2, 1)))
    counter, done = [0], threading.Event()
    start = time.perf_counter()
    while time.perf_counter() - start < 0.05:
        counter[0] += 1
    pace = counter[0] / (time.perf_counter() - start)  # increments per second with the GIL to itself

    during = {}

    def worker():
        before = counter[0]
        began = time.perf_counter()
        model.score(rows)
        during["seconds"], during["increments"] = time.perf_counter() - began, counter[0] - before
        done.set()

    counter[0] = 0
    thread = threading.Thread(target=worker)
    thread.start()
    while not done.is_set():
        counter[0] += 1
    thread.join()
    assert call_seconds > 0.1, "the call is too short to tell"
    assert during["increments"] > 0.25 * pace * during["seconds"], (during, pace)


def test_four_threads_score_one_model_with_the_serial_results(model_and_rows, one_thread_each):
    model, x = model_and_rows
    slices = [np.ascontiguousarray(x[i::4]) for i in range(4)]
    serial = [model.score(s) for s in slices]
    results, errors = [None] * 4, []

    def worker(i):
        try:
            for _ in range(5):
                results[i] = model.score(slices[i])
                np.testing.assert_array_equal(results[i], serial[i])
        except Exception as error:  # reported below; an exception in a thread would be lost
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i in range(4):
        np.testing.assert_array_equal(results[i], serial[i])


def test_fit_and_inference_refuse_each_other(one_thread_each):
    x = np.ascontiguousarray(structured(2000, seed=4), dtype=np.float32)
    model = NativeModel.create({**SPEC, "seed": 9})
    model.fit(x[:300])
    reference = model.score(x)  # refitting on the same rows and seed rebuilds exactly these weights

    # Inference from fit's own progress callback: refused, and the fit goes on.
    refused = []

    def progress(epoch, epochs, loss, validation_loss):
        with pytest.raises(AEFBusyError, match="being fitted") as caught:
            model.score(x[:5])
        refused.append(caught.value.status)
        return False  # go on

    model.fit(x[:300], progress=progress)
    assert refused == ["AEF_ERR_BUSY"] * 2
    np.testing.assert_array_equal(model.score(x), reference)

    # A thread scoring while the main thread refits: every score that is not refused is the
    # reference's bit for bit (never weights in the middle of a fit), and fit is refused while
    # a score runs.
    stop, seen, errors = threading.Event(), {"scores": 0, "score refused": 0, "fit refused": 0, "fits": 0}, []

    def scorer():
        try:
            while not stop.is_set():
                try:
                    scores = model.score(x)
                except AEFBusyError:
                    seen["score refused"] += 1
                    continue
                np.testing.assert_array_equal(scores, reference)
                seen["scores"] += 1
        except Exception as error:
            errors.append(error)

    thread = threading.Thread(target=scorer)
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and min(seen.values()) < 3:
        try:
            model.fit(x[:300])
            seen["fits"] += 1
        except AEFBusyError as error:
            assert "fit needs it alone" in str(error)
            seen["fit refused"] += 1
        time.sleep(0.01)  # room for whole scores between the fits
    stop.set()
    thread.join()
    assert not errors, errors
    assert min(seen.values()) >= 3, seen
    np.testing.assert_array_equal(model.score(x), reference)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_starts_its_own_pool(model_and_rows):
    """A child forked after the parent's thread pool has run (as Spark's Python daemon and
    multiprocessing's fork start method do) has none of the parent's worker threads: its first
    parallel call starts its own, and gives the parent's results instead of waiting forever."""
    model, x = model_and_rows
    set_num_threads(2)
    expected = model.score(x)  # runs the pool in the parent
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's pytest teardown
        try:
            # Exact: the same model, rows, thread count and OpenBLAS core as the parent's call, and
            # the pool's parts do not depend on which thread runs them.
            ok = np.array_equal(model.score(x), expected)
            os.write(writer, b"same" if ok else b"different")
        finally:
            os._exit(0)
    os.close(writer)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's first parallel call did not return within 60 s")
    assert os.read(reader, 16) == b"same"
    os.close(reader)
