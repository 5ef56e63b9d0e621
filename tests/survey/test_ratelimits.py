"""The in-process rate-limit counters."""

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


def test_finished_windows_are_dropped_when_many(monkeypatch):
    windows, item = LocalWindows(), parse("1 per minute")
    monkeypatch.setattr(LocalWindows, "CLEAN_ABOVE", 10)
    now = [1_000_020.0]
    monkeypatch.setattr("survey.ratelimits.time.time", lambda: now[0])
    for i in range(10):
        windows.hit(item, f"old{i}")
    now[0] += 60
    windows.hit(item, "new")
    assert set(windows._counts) == {"new"}
