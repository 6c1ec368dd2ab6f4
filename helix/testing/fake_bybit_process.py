"""Run a :class:`FakeBybit` in its own process (benchmarks: the exchange is not in our GIL).

Protocol on stdin/stdout, one line each: the process prints ``ready <url>``; then reads
``play <n> <per_frame>`` (answers ``ok``), ``wait <n>`` (answers ``served`` once n trades were
generated), ``subs`` (answers the subscription count) and ``quit``.
"""

from __future__ import annotations

import subprocess
import sys
from types import TracebackType

from helix.testing.fake_bybit import FakeBybit


def main() -> None:
    symbols = tuple(sys.argv[1:]) or ("BTCUSDT",)
    with FakeBybit(symbols=symbols) as fake:
        print(f"ready {fake.url}", flush=True)
        for line in sys.stdin:
            cmd, *args = line.split()
            if cmd == "play":
                fake.play(int(args[0]), per_frame=int(args[1]))
                print("ok", flush=True)
            elif cmd == "wait":
                fake.wait_served(int(args[0]), 300)
                print("served", flush=True)
            elif cmd == "subs":
                print(fake.stats.subscriptions, flush=True)
            elif cmd == "quit":
                return


class FakeBybitProcess:
    """Client side: ``with FakeBybitProcess() as fake: fake.play(...)``."""

    def __init__(self, symbols: tuple[str, ...] = ("BTCUSDT",)) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "helix.testing.fake_bybit_process", *symbols],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise RuntimeError(f"fake Bybit did not start: {ready}")
        self.url = ready[1]
        self.ws_url = self.url.replace("http://", "ws://") + "/v5/public/linear"

    def _ask(self, line: str) -> str:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def play(self, n: int, per_frame: int = 200) -> None:
        self._ask(f"play {n} {per_frame}")

    def wait_served(self, n: int) -> None:
        self._ask(f"wait {n}")

    def subscriptions(self) -> int:
        return int(self._ask("subs"))

    def close(self) -> None:
        if self.proc.poll() is None:
            self._ask("quit")
            self.proc.wait(30)

    def __enter__(self) -> FakeBybitProcess:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


if __name__ == "__main__":
    main()
