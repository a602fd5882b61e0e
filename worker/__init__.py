"""The Huey worker: queue, tasks and consumers (thin shells over core)."""
