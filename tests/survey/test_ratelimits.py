"""The in-process rate-limit counters."""

import threading

from limits import parse

from survey.ratelimits import LocalWindows


def test_counts_up_to_the_limit_then_refuses():
    windows, item = LocalWindows(), parse("3 per minute")
    assert [windows.hit(item, "a") for _ in range(5)] == [True, True, True, False, False]
    assert windows.hit(item, "b")  # another key has its own count


def test_a_new_window_starts_a_new_count(monkeypatch):
    windows, item = LocalWindows(), parse("1 per minute")
    now = [1_000_020.0]
    monkeypatch.setattr("survey.ratelimits.time.time", lambda: now[0])
    assert windows.hit(item, "a") and not windows.hit(item, "a")
    now[0] += 60
    assert windows.hit(item, "a")


def held(windows: LocalWindows) -> int:
    """How many counters the windows keep in memory."""
    return sum(len(counts) for _, counts in windows._windows.values())


def test_a_finished_window_is_dropped_whole(monkeypatch):
    windows, item = LocalWindows(), parse("1 per minute")
    now = [1_000_020.0]
    monkeypatch.setattr("survey.ratelimits.time.time", lambda: now[0])
    for i in range(500):
        windows.hit(item, f"old{i}")
    now[0] += 60
    windows.hit(item, "new")
    assert held(windows) == 1


class CountingDict(dict):
    """A dict that counts how often the whole of it is read."""

    scans = 0

    def __iter__(self):
        self.scans += 1
        return super().__iter__()

    def items(self):
        self.scans += 1
        return super().items()

    def values(self):
        self.scans += 1
        return super().values()

    def copy(self):
        self.scans += 1
        return super().copy()


def test_a_hit_touches_one_counter_however_many_keys_are_held(monkeypatch):
    """Per-hit cost must not grow with the keys: past 20,000 keys (more than any
    cleaning threshold) a hit neither rebuilds nor scans the running window."""
    windows, item = LocalWindows(), parse("5 per minute")
    monkeypatch.setattr("survey.ratelimits.time.time", lambda: 1_000_020.0)
    windows.hit(item, "first")
    number, counts = windows._windows[item.get_expiry()]
    spy = CountingDict(counts)
    windows._windows[item.get_expiry()] = (number, spy)
    for i in range(20_000):
        windows.hit(item, f"key{i}")
    assert windows._windows[item.get_expiry()][1] is spy
    assert spy.scans == 0
    assert held(windows) == 20_001


def test_limits_of_different_lengths_count_apart(monkeypatch):
    windows = LocalWindows()
    minute, hour = parse("1 per minute"), parse("2 per hour")
    now = [3_600_000.0]
    monkeypatch.setattr("survey.ratelimits.time.time", lambda: now[0])
    assert windows.hit(minute, "m") and windows.hit(hour, "h")
    now[0] += 60
    assert windows.hit(minute, "m")  # a new minute
    assert windows.hit(hour, "h") and not windows.hit(hour, "h")  # the same hour


def test_threads_hitting_one_key_are_counted_exactly(monkeypatch):
    windows, item = LocalWindows(), parse("2000 per hour")
    monkeypatch.setattr("survey.ratelimits.time.time", lambda: 3_600_000.0)
    allowed: list[bool] = []

    def hammer():
        results = [windows.hit(item, "desk") for _ in range(500)]
        allowed.extend(results)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 2000 and allowed.count(False) == 2000
