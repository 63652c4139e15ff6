"""``manage.py send_digests --frequency daily|weekly``: mail the e-mail digests of alerts
(:func:`alerts.digests.send_digests`); run by ``deploy/lawtracker-digests@.timer``."""
from django.core.management.base import BaseCommand

from alerts.choices import Frequency
from alerts.digests import send_digests


class Command(BaseCommand):
    help = "Mail the confirmed e-mail digests of one frequency that have new alerts."

    def add_arguments(self, parser):
        parser.add_argument("--frequency", choices=Frequency.values, required=True)

    def handle(self, *args, frequency, **options):
        self.stdout.write(f"{send_digests(frequency)} {frequency} digests sent.")
