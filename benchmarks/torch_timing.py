"""How the PyTorch peers time a call, as bench_support.hpp's median_seconds times fergen's: after `warmups` untimed
calls, the median seconds per call over at least 3 calls and about `seconds`, at most `max_calls` (bench_unet's
and bench_backbones' rounds: 1000, bounded by their time, as paired_rounds; bench_core: 50)."""
import statistics
import time


def timed(fn, seconds, warmups, max_calls=1000):
    for _ in range(warmups):  # allocations, oneDNN primitive creation
        fn()
    samples, start = [], time.perf_counter()
    while len(samples) < 3 or (time.perf_counter() - start < seconds and len(samples) < max_calls):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)
