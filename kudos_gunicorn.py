"""gunicorn settings for Kudos: ``gunicorn -c python:kudos.gunicorn wsgi:app``
(``gunicorn.conf.py`` in a checkout says the same, and gunicorn reads it by
itself there).

With ``KUDOS_METRICS_ENABLED``, every worker must count into files that a
scrape adds up (prometheus_client's multiprocess mode): the directory is
named here, before any worker starts and before prometheus_client is
imported, emptied of an earlier run's files, and a worker's files are
marked dead when it exits.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from typing import Any

import config

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_made_here: list[str] = []


def _metrics_enabled() -> bool:
    return os.environ.get("KUDOS_METRICS_ENABLED", "").strip().lower() in config.TRUE_WORDS


if _metrics_enabled() and not os.environ.get(MULTIPROCESS_DIR):
    os.environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="kudos-metrics-")
    _made_here.append(os.environ[MULTIPROCESS_DIR])
if os.environ.get(MULTIPROCESS_DIR):  # there before --preload loads the app
    os.makedirs(os.environ[MULTIPROCESS_DIR], exist_ok=True)


def on_starting(_server: Any) -> None:  # noqa: ANN401 - gunicorn's Arbiter
    """Counts start from zero with each start of the server (not on a
    reload: the workers' counts go on)."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)


def child_exit(_server: Any, worker: Any) -> None:  # noqa: ANN401 - gunicorn's objects
    if os.environ.get(MULTIPROCESS_DIR):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(_server: Any) -> None:  # noqa: ANN401
    for directory in _made_here:
        shutil.rmtree(directory, ignore_errors=True)
