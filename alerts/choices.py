"""Every vocabulary of the alerts app."""
from django.db import models


class AlertKind(models.TextChoices):
    COVERAGE_CHANGE = "coverage_change", "coverage change"
    LEGAL_STEP = "legal_step", "legal step"


class Timing(models.TextChoices):
    # A coverage change: today's answer changed; only past days' answers changed (an edit
    # corrected history); only future days' (a step scheduled ahead).
    CURRENT = "current", "as of today"
    RETROACTIVE = "retroactive", "retroactive correction"
    SCHEDULED = "scheduled", "scheduled"


class StepChange(models.TextChoices):
    ADDED = "added", "step added"
    CORRECTED = "corrected", "step corrected"
    REMOVED = "removed", "step removed"


class TargetKind(models.TextChoices):
    JURISDICTION = "jurisdiction", "a jurisdiction"
    CRITERION = "criterion", "a criterion within a selection"
    INSTRUMENT = "instrument", "an instrument"
    GAPS = "gaps", "a gap list"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "pending"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed"


class Frequency(models.TextChoices):
    DAILY = "daily", "daily"
    WEEKLY = "weekly", "weekly"
