"""The embedded worker: one consumer thread inside the Streamlit process.

Streamlit scripts never run on the main thread, and Huey's Consumer installs signal handlers,
which only the main thread may do; this subclass skips them (see STACK_NOTES)."""

from __future__ import annotations

import logging
import threading

from huey.consumer import Consumer

from core.runtime import Runtime
from worker.service import WorkerService, build_service

log = logging.getLogger(__name__)


class ThreadConsumer(Consumer):
    def _set_signal_handlers(self) -> None:
        """No signal handlers outside the main thread; stop() is called instead."""


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
        self.consumer.stop(graceful=True)
        self.thread.join(timeout=30)


def start_embedded(rt: Runtime) -> EmbeddedWorker:
    return EmbeddedWorker(build_service(rt, mode="embedded")).start()
