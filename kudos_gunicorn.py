"""gunicorn settings for Kudos: ``gunicorn -c python:kudos_gunicorn wsgi:app``
(``gunicorn.conf.py`` in a checkout says the same, and gunicorn reads it by
itself there).

With ``KUDOS_METRICS_ENABLED``, every worker must count into files that a
scrape adds up (prometheus_client's multiprocess mode): the directory is
named here, before any worker starts and before prometheus_client is
imported, emptied of an earlier run's files, and a worker's files are
marked dead when it exits.

A module of its own, outside the ``kudos`` package, that imports nothing of
Kudos: gunicorn's master process imports it, and whatever the master has
imported, the workers it starts after a ``HUP`` reuse instead of reading
the new version's code from disk.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from typing import Any

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
TRUE_WORDS = {"1", "true", "yes", "on"}  # as config.py reads a yes
_made_here: list[str] = []


def _metrics_enabled() -> bool:
    return os.environ.get("KUDOS_METRICS_ENABLED", "").strip().lower() in TRUE_WORDS


if _metrics_enabled() and not os.environ.get(MULTIPROCESS_DIR):
    os.environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="kudos-metrics-")
    _made_here.append(os.environ[MULTIPROCESS_DIR])
if os.environ.get(MULTIPROCESS_DIR):  # there before --preload loads the app
    os.makedirs(os.environ[MULTIPROCESS_DIR], exist_ok=True)


def on_starting(server: Any) -> None:  # noqa: ANN401 - gunicorn's Arbiter
    """Counts start from zero with each start of the server (not on a
    reload: the workers' counts go on)."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)
    for made in _made_here:
        # Made by root for workers that run as --user: theirs to write in.
        if os.geteuid() == 0 and server.cfg.uid != 0:
            os.chown(made, server.cfg.uid, server.cfg.gid)


def child_exit(_server: Any, worker: Any) -> None:  # noqa: ANN401 - gunicorn's objects
    if os.environ.get(MULTIPROCESS_DIR):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(_server: Any) -> None:  # noqa: ANN401
    for directory in _made_here:
        shutil.rmtree(directory, ignore_errors=True)
