"""The memory engine: table store, indexes, planner and executor."""

from pytuck.engines.memory.engine import MemoryEngine, MemoryTransaction

__all__ = ["MemoryEngine", "MemoryTransaction"]
