"""Keeping `make run`'s processes up: the web and worker children, and the embedded services.

A child that dies is started again after a back-off: 1 s, doubling to 30 s, and back to 1 s
once it had stayed up for 30 s, so that one that fails at start-up over and over does not
spin. An embedded service (Redis, PostgreSQL) found dead is started again at once (the web
keeps serving meanwhile), then with the same back-off if it will not start. Each death is one
line: what died, how, when, and when it comes back.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Say = Callable[[str], None]


@dataclass
class Backoff:
    first: float = 1.0
    ceiling: float = 30.0
    settled_after: float = 30.0  # up this long: the next death counts as the first
    at_once: bool = False  # the first restart without waiting
    failures: int = 0

    def after_death(self, uptime: float) -> float:
        """Seconds to wait before starting again what died after `uptime` seconds."""
        if uptime >= self.settled_after:
            self.failures = 0
        n = self.failures
        self.failures += 1
        if self.at_once:
            if n == 0:
                return 0.0
            n -= 1
        return min(self.ceiling, self.first * 2**n)


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


def clock() -> str:
    return time.strftime("%H:%M:%S")


@dataclass
class Child:
    """A process of the Procfile: (name, argv), and its current process once started."""

    name: str
    argv: list[str]
    backoff: Backoff = field(default_factory=Backoff)
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    due_at: float = 0.0  # while there is no process: when to start one


@dataclass
class Service:
    """An embedded service that lives on its own (a daemon): watched, started again if gone."""

    name: str
    running: Callable[[], bool]
    start: Callable[[], object]
    backoff: Backoff = field(default_factory=lambda: Backoff(at_once=True))
    started_at: float = 0.0
    due_at: float | None = None  # when found dead: when to try starting it


@dataclass
class Supervisor:
    spawn: Callable[[Child], subprocess.Popen]
    say: Say
    children: list[Child] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    starting: bool = True  # until the web answers: deaths say "during start-up"

    def tick(self, now: float) -> None:
        """Look once: note what died, start again what is due."""
        for service in self.services:
            self._watch_service(service, now)
        for child in self.children:
            self._watch_child(child, now)

    def next_due(self) -> float | None:
        dues = [c.due_at for c in self.children if c.proc is None]
        dues += [s.due_at for s in self.services if s.due_at is not None]
        return min(dues, default=None)

    def _watch_child(self, child: Child, now: float) -> None:
        if child.proc is not None:
            returncode = child.proc.poll()
            if returncode is None:
                return
            delay = child.backoff.after_death(now - child.started_at)
            during = " during start-up" if self.starting else ""
            self.say(
                f"{clock()} {child.name} (pid {child.proc.pid}) {how_it_ended(returncode)}{during}; "
                f"restarting it in {delay:g} s"
            )
            child.proc = None
            child.due_at = now + delay
        if now >= child.due_at:
            child.proc = self.spawn(child)
            child.started_at = now

    def _watch_service(self, service: Service, now: float) -> None:
        if service.due_at is None:
            if service.running():
                return
            service.due_at = now + service.backoff.after_death(now - service.started_at)
            if service.due_at > now:
                self.say(f"{clock()} {service.name} is not running; starting it again in {service.due_at - now:g} s")
        if now < service.due_at:
            return
        try:
            service.start()
        except Exception as error:  # say what failed, and try again later
            delay = service.backoff.after_death(0)
            self.say(f"{clock()} {service.name} did not start again ({error}); trying again in {delay:g} s")
            service.due_at = now + delay
            return
        self.say(f"{clock()} {service.name} had stopped; started it again")
        service.started_at = now
        service.due_at = None
