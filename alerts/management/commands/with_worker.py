"""``manage.py with_worker <command> [args]``: run ``command`` (e.g. ``runserver 127.0.0.1:8000
--noreload``) with the alerts worker beside it (``make run``).

The worker is ``manage.py db_worker`` in a child process, started after ``alerts_recover``; on
Linux it is tied to this process (``PR_SET_PDEATHSIG``), so it stops when the command stops,
however that happens (Ctrl+C, SIGTERM, SIGKILL). In production run the worker under its own
unit instead (``deploy/lawtracker-worker.service``)."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand

PR_SET_PDEATHSIG = 1


def _die_with_parent():  # runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the worker outlives a killed parent; a clean exit still stops it


class Command(BaseCommand):
    help = "Run a management command (runserver) with the alerts worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("args", nargs="+", help="the command and its arguments")

    def run_from_argv(self, argv):
        # Everything after ``with_worker`` belongs to the wrapped command.
        self.handle(*argv[2:])

    def handle(self, *args, **options):
        call_command("alerts_recover")
        worker = subprocess.Popen(
            [sys.executable, sys.argv[0], "db_worker", "--no-reload", "--interval", "1"],
            preexec_fn=_die_with_parent,
        )
        try:
            call_command(*args)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
