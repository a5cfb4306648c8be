"""`make run`'s supervision, looked at one tick at a time (the clock is the test's): what dies is
started again after a back-off that grows while it keeps dying, and each death is one line."""

from __future__ import annotations

import re
import subprocess
import sys

from helpdesk.ops.supervisor import Backoff, Child, Service, Supervisor, how_it_ended


def test_the_back_off_doubles_to_a_ceiling_and_starts_over_after_a_good_run():
    backoff = Backoff()
    assert [backoff.after_death(uptime=0.5) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.after_death(uptime=31) == 1  # it had stayed up a while
    assert backoff.after_death(uptime=2) == 2


def test_a_service_is_started_again_at_once_then_with_the_back_off():
    backoff = Backoff(at_once=True)
    assert [backoff.after_death(uptime=0) for _ in range(4)] == [0, 1, 2, 4]


def test_it_says_how_a_process_ended():
    assert how_it_ended(-9) == "was killed by SIGKILL"
    assert how_it_ended(-15) == "was killed by SIGTERM"
    assert how_it_ended(3) == "exited with code 3"


def test_a_child_that_dies_at_start_up_over_and_over_waits_longer_each_time_and_says_why():
    lines: list[str] = []
    spawned: list[subprocess.Popen] = []

    def spawn(child: Child) -> subprocess.Popen:
        spawned.append(subprocess.Popen(child.argv))
        return spawned[-1]

    web = Child("web", [sys.executable, "-c", "raise SystemExit(3)"])
    supervisor = Supervisor(spawn=spawn, say=lines.append, children=[web])

    supervisor.tick(now=0)
    starts = [0.0]
    for delay in (1, 2, 4):
        web.proc.wait()
        died_at = starts[-1] + 0.1
        supervisor.tick(now=died_at)
        assert re.fullmatch(
            rf"\d\d:\d\d:\d\d web \(pid {spawned[-1].pid}\) exited with code 3 during start-up; restarting it in {delay} s",
            lines[-1],
        )
        supervisor.tick(now=died_at + delay - 0.05)  # not yet
        assert len(spawned) == len(starts) and web.proc is None
        assert supervisor.next_due() == died_at + delay
        supervisor.tick(now=died_at + delay)
        assert len(spawned) == len(starts) + 1
        starts.append(died_at + delay)
    web.proc.wait()
    assert len(lines) == 3


def test_a_death_after_start_up_does_not_say_start_up():
    lines: list[str] = []
    worker = Child("worker", [sys.executable, "-c", "raise SystemExit(0)"])
    supervisor = Supervisor(spawn=lambda child: subprocess.Popen(child.argv), say=lines.append, children=[worker])
    supervisor.starting = False
    supervisor.tick(now=0)
    worker.proc.wait()
    supervisor.tick(now=100)
    assert re.fullmatch(r"\d\d:\d\d:\d\d worker \(pid \d+\) exited with code 0; restarting it in 1 s", lines[-1])


def test_a_dead_service_is_started_again_and_a_failed_start_is_tried_again_later():
    lines: list[str] = []
    state = {"running": False, "attempts": 0}

    def start():
        state["attempts"] += 1
        if state["attempts"] == 1:
            raise RuntimeError("no redis-server binary")
        state["running"] = True

    redis = Service("the embedded Redis", running=lambda: state["running"], start=start)
    supervisor = Supervisor(spawn=lambda child: None, say=lines.append, services=[redis])

    supervisor.tick(now=100)
    assert state["attempts"] == 1
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d the embedded Redis did not start again \(no redis-server binary\); trying again in 1 s",
        lines[-1],
    )
    supervisor.tick(now=100.5)
    assert state["attempts"] == 1
    supervisor.tick(now=101)
    assert state["attempts"] == 2
    assert re.fullmatch(r"\d\d:\d\d:\d\d the embedded Redis had stopped; started it again", lines[-1])
    supervisor.tick(now=102)
    assert state["attempts"] == 2 and len(lines) == 2
