"""The embedded worker: one consumer thread inside the Streamlit process.

Streamlit scripts never run on the main thread, and Huey's Consumer installs signal handlers,
which only the main thread may do; this subclass skips them (docs/ARCHITECTURE.md, run modes)."""

from __future__ import annotations

import logging
import threading

from huey.consumer import Consumer

from core.platform.runtime import Runtime
from worker.service import WorkerService, build_service

log = logging.getLogger(__name__)
_lock = threading.Lock()
_workers: list[EmbeddedWorker] = []  # at most one: the process's embedded worker


class ThreadConsumer(Consumer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ready = threading.Event()  # set once the worker threads exist (stop joins them)

    def _set_signal_handlers(self) -> None:
        """No signal handlers outside the main thread; stop() is called instead."""

    def start(self) -> None:
        super().start()
        self.ready.set()


class EmbeddedWorker:
    def __init__(self, service: WorkerService) -> None:
        self.service = service
        self.consumer = service.consumer(ThreadConsumer)
        self.thread = threading.Thread(
            target=self._run, name="steadybot-embedded-worker", daemon=True
        )

    def _run(self) -> None:
        try:
            self.consumer.run()
        except Exception:
            log.exception("embedded worker stopped with an error")

    def start(self) -> EmbeddedWorker:
        self.service.start_background()
        self.thread.start()
        log.info("embedded worker started (%d thread(s))", self.service.rt.settings.worker_threads)
        return self

    def stop(self) -> None:
        self.service.stop_background()
        if self.consumer.ready.wait(timeout=30):
            self.consumer.stop(graceful=True)
        else:  # never got going: nothing to join
            self.consumer.stop_flag.set()
        self.thread.join(timeout=30)


def start_embedded(rt: Runtime) -> EmbeddedWorker:
    """Start this process's embedded worker, or return the one already running.

    The web entry guards the call with st.cache_resource; this lock is the process-wide
    guarantee (a cleared cache or a second Runtime must not start a second consumer)."""
    with _lock:
        if _workers and _workers[0].thread.is_alive():
            return _workers[0]
        _workers[:] = [EmbeddedWorker(build_service(rt, mode="embedded")).start()]
        return _workers[0]


def stop_embedded() -> None:
    """Stop the process's embedded worker, if any (tests, orderly shutdown)."""
    with _lock:
        for worker in _workers:
            worker.stop()
        _workers.clear()
