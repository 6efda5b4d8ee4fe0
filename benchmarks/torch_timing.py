"""How the PyTorch peers of bench_unet and bench_backbones time a call, as bench_support.hpp's paired_rounds times
fergen's: after `warmups` untimed calls, the median seconds per call over at least 3 calls and about `seconds`, at
most 1000 (a round is bounded by its time, not by a count of calls)."""
import statistics
import time


def timed(fn, seconds, warmups):
    for _ in range(warmups):  # allocations, oneDNN primitive creation
        fn()
    samples, start = [], time.perf_counter()
    while len(samples) < 3 or (time.perf_counter() - start < seconds and len(samples) < 1000):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)
