"""Whether weights fit in memory: the machine's RAM and the layers blamed when they do not."""

from __future__ import annotations

import os

from modelctl.model.memory import machine_memory, oversized


def test_machine_memory_is_the_total_ram():
    assert machine_memory() == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_each_layer_over_the_limit_is_blamed_else_the_largest():
    assert oversized({"a": 5, "b": 3}, 10) == []
    assert oversized({"a": 12, "b": 11, "c": 1}, 10) == ["a", "b"]
    assert oversized({"a": 6, "b": 5}, 10) == ["a"]
    assert oversized({"a": 6e12}, None) == []
