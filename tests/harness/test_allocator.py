"""The allocator tuning the command line applies at start."""

from __future__ import annotations

import ctypes
import sys

import pytest

from disbench.harness.child import allocator
from disbench.harness.child.allocator import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, tune_allocator


class FakeLibc:
    """Records mallopt calls; refuses mmap thresholds above ``mmap_max`` like glibc < 2.35."""

    def __init__(self, mmap_max: int):
        self.mmap_max, self.calls = mmap_max, []

    def mallopt(self, option: int, value: int) -> int:
        self.calls.append((option, value))
        return int(option != M_MMAP_THRESHOLD or value <= self.mmap_max)


def test_tune_allocator_sets_both_thresholds(monkeypatch):
    libc = FakeLibc(mmap_max=1 << 40)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: libc)
    assert tune_allocator(mmap_threshold=100 << 20, trim_threshold=1 << 30) is True
    assert libc.calls == [(M_MMAP_THRESHOLD, 100 << 20), (M_TRIM_THRESHOLD, 1 << 30)]


def test_tune_allocator_falls_back_to_old_glibc_limit(monkeypatch):
    libc = FakeLibc(mmap_max=32 << 20)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: libc)
    assert tune_allocator(mmap_threshold=256 << 20) is True
    assert libc.calls[:2] == [(M_MMAP_THRESHOLD, 256 << 20), (M_MMAP_THRESHOLD, 32 << 20)]


def test_tune_allocator_reports_failure_without_glibc(monkeypatch):
    def missing(name):
        raise OSError(name)

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(allocator.ctypes, "CDLL", missing)
    assert tune_allocator() is False
    monkeypatch.setattr(sys, "platform", "darwin")
    assert tune_allocator() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux only")
def test_tune_allocator_on_this_machine():
    try:
        ctypes.CDLL("libc.so.6")
    except OSError:
        pytest.skip("no glibc")
    assert tune_allocator() is True
