"""The thread and event loop a local fake server runs on, shared by the fakes.

Each fake (:class:`~helix.testing.fake_bybit.FakeBybit`,
:class:`~helix.testing.fake_polymarket.FakePolymarket`,
:class:`~helix.testing.fake_channels.FakeChannels`,
:class:`~helix.testing.fake_channels_smtp.FakeSmtp`) serves loopback sockets from its own
asyncio loop on a daemon thread, so synchronous and asynchronous tests can both drive it::

    server = ServerThread("FakeThing", thread_name="fake-thing")
    [port] = server.start(startup)          # startup(socks) runs on the loop; errors re-raised
    server.call(lambda: state.append(1))    # run on the loop, from any thread, and wait
    server.stop(shutdown)                   # shutdown() runs on the loop, then the loop ends
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class ServerThread:
    """An event loop on a daemon thread serving loopback sockets until :meth:`stop`.

    Args:
        owner: the fake's name, in error messages (``"FakeBybit"``).
        thread_name: the thread's name; ``:<first port>`` is appended.
    """

    def __init__(self, owner: str, *, thread_name: str) -> None:
        self.owner = owner
        self.thread_name = thread_name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(
        self,
        startup: Callable[[list[socket.socket]], Awaitable[None]],
        *,
        sockets: int = 1,
    ) -> list[int]:
        """Bind ``sockets`` sockets on 127.0.0.1, run ``startup(socks)`` on a new loop on a new
        thread, keep the loop running, and return the ports.

        Raises:
            RuntimeError: already started.
            BaseException: whatever ``startup`` raised (the thread has ended, the sockets are
                closed).
        """
        if self._thread is not None:
            raise RuntimeError(f"{self.owner} already started")
        socks = []
        for _ in range(sockets):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        ports = [int(s.getsockname()[1]) for s in socks]
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(startup(socks))
            except BaseException as exc:
                failed.append(exc)
                for s in socks:
                    s.close()
                loop.close()
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=run, name=f"{self.thread_name}:{ports[0]}", daemon=True)
        thread.start()
        ready.wait()
        if failed:
            thread.join()
            raise failed[0]
        self._loop, self._thread = loop, thread
        return ports

    def stop(
        self, shutdown: Callable[[], Awaitable[object]] | None = None, *, timeout: float = 15.0
    ) -> None:
        """Run ``shutdown()`` on the loop (if running), then end the loop and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if shutdown is not None:
                asyncio.run_coroutine_threadsafe(_awaited(shutdown), loop).result(timeout=timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=timeout)
            self._loop = self._thread = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The running loop, or ``None`` before :meth:`start` and after :meth:`stop`."""
        return self._loop

    def running_loop(self) -> asyncio.AbstractEventLoop:
        """The running loop.

        Raises:
            RuntimeError: not running.
        """
        if self._loop is None:
            raise RuntimeError(f"{self.owner} is not running (call start())")
        return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run ``coro`` on the loop and wait for its result (re-raising its exception)."""
        return asyncio.run_coroutine_threadsafe(coro, self.running_loop()).result(timeout=timeout)

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Call ``fn()`` on the loop (between its callbacks) and wait for its result."""

        async def call() -> T:
            return fn()

        return self.run(call(), timeout)

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Schedule ``fn()`` on the loop without waiting (nothing if not running)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(fn)

    def wait(
        self,
        cond: Callable[[], bool],
        timeout: float,
        what: str,
        *,
        poll: float = 0.005,
        errors: Sequence[BaseException] = (),
    ) -> None:
        """Block (polling) until ``cond()`` holds.

        Raises:
            TimeoutError: not within ``timeout`` seconds.
            RuntimeError: the fake recorded one of ``errors`` meanwhile.
        """
        deadline = time.monotonic() + timeout
        while not cond():
            if errors:
                raise RuntimeError(f"{self.owner} failed: {errors[0]!r}") from errors[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.owner}: timed out waiting for {what}")
            time.sleep(poll)


async def _awaited(aw: Callable[[], Awaitable[object]]) -> None:
    await aw()
