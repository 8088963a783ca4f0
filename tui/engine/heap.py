"""What a long-lived engine or relay process keeps from its start leaves the garbage
collector's full passes.

Imports, the inventory and one runtime per appliance live as long as the process. Left in the
collector's oldest generation, every full pass walks them again, and a thousand tunnels coming
up trigger several such passes (`python -m tests.perf --only fleet`: a quarter of the
agent's set-up CPU went to the collector). `gc.freeze()` moves them to the permanent
generation once; they are still freed by reference counting, only cycles among them stay.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_start_up_heap() -> None:
    """Once per process, after start-up: take what exists now out of full collections."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.freeze()
