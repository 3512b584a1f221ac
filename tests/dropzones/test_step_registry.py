"""The built-in step registry is filled once, whole, even when threads ask at once."""

from __future__ import annotations

import threading

from tidyllm.dropzones import pipeline


def test_threads_asking_for_a_step_at_once_all_find_it(monkeypatch):
    """A fresh server's first uploads resolve their pipelines in several threads; the
    registry used to be marked loaded before it was filled, so one of them got
    "unknown pipeline step 'extract'"."""
    from tidyllm.dropzones import steps

    monkeypatch.setattr(pipeline, "_REGISTRY", {})
    monkeypatch.setattr(pipeline, "_BUILTINS_LOADED", False)
    real = steps.builtin_steps
    entered = threading.Event()

    def slow_builtins():
        entered.set()
        release.wait(30)  # hold the first loader inside, so the others race it
        return real()

    release = threading.Event()
    monkeypatch.setattr(steps, "builtin_steps", slow_builtins)
    found: list[object] = []
    errors: list[BaseException] = []

    def ask():
        try:
            found.append(pipeline.get_step("extract"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    threads[0].start()
    assert entered.wait(30)
    for t in threads[1:]:
        t.start()
    release.set()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(found) == 8 and all(step is found[0] for step in found)
