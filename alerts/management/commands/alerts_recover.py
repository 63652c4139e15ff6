"""``manage.py alerts_recover``: queue again what a stopped worker left (issue 14).

Enqueues the fan-out of the undispatched alerts and a delivery task for every pending delivery
(to run once its lease, if a dead worker holds one, expires), unless a queued task already
covers it. Run when the worker starts (``deploy/lawtracker-worker.service``) and every few
minutes by ``deploy/lawtracker-alerts-recover.timer``; running it again queues nothing more
(and a delivery is sent only by the worker that takes its lease)."""
from django.core.management.base import BaseCommand

from alerts.tasks import recover


class Command(BaseCommand):
    help = "Re-enqueue undispatched alerts and pending webhook deliveries."

    def handle(self, *args, **options):
        done = recover.call()
        self.stdout.write(
            f"{done['queued']} pending deliveries queued, {done['already_queued']} already "
            f"queued; fan-out {'queued' if done['fan_out'] else 'not needed'}.")
