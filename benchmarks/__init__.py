"""pytuck's benchmark suite: the same workload on pytuck engines and on peers.

Run it with ``python -m benchmarks.run`` (see ``benchmarks/README.md``). Each
system runs in its own fresh interpreter (``benchmarks.worker``); the
orchestrator (``benchmarks.run``) checks that every system gave the same
answers and renders one table of times, ratios and peak memory.
"""
