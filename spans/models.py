"""Status and coverage spans: the answers of ``jurisdictions.coverage`` over time, stored.

Derived data, never edited: :mod:`spans.maintain` writes them from the pure rules on every write
of the data they rest on, inside that write's transaction. They live in an app of their own so
that nothing which walks the legal data's models (dumps, history, permissions, the changes
feed) mistakes them for legal data.

A span holds over ``[valid_from, valid_to)``; a null ``valid_from`` means "since always" (before
the first step of any instrument involved) and a null ``valid_to`` "still".
"""
from django.db import models

from jurisdictions.choices import LegalForce, Scope, Status


class InstrumentStatusSpan(models.Model):
    """An interval over which an instrument's status as of each day, its legal force and
    whether that status is approximate stay the same (``coverage.status_as_of`` and
    ``coverage.approximate_as_of``). No row before the instrument's first step."""

    # Derived rows go with their instrument.
    instrument = models.ForeignKey(
        "jurisdictions.Instrument", on_delete=models.CASCADE, related_name="status_spans"
    )
    status = models.CharField(max_length=30, choices=Status.choices)
    legal_force = models.CharField(max_length=30, choices=LegalForce.choices)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    approximate = models.BooleanField(default=False)

    class Meta:
        ordering = ["instrument_id", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "valid_from"], name="statusspan_unique_start"
            ),
        ]
        indexes = [models.Index(fields=["status", "valid_from"], name="statusspan_status")]

    def __str__(self):
        return f"{self.status} from {self.valid_from}"


class CoverageSpan(models.Model):
    """An interval over which one cell — a jurisdiction's effective value for a criterion under
    a scope (``coverage.Cell``) — keeps its value, approximate flag, deciding instruments and
    pending instruments. ``deciding`` and ``pending`` are instrument slugs, in the order of the
    cell; ``caused_by`` lists the steps (and assessment commencements) dated on ``valid_from``
    that changed the answer: ``[{"instrument", "status", "date", "precision", "step"} |
    {"instrument", "commencement"}]``."""

    # Derived rows go with what they describe.
    jurisdiction = models.ForeignKey(
        "jurisdictions.Jurisdiction", on_delete=models.CASCADE, related_name="coverage_spans"
    )
    criterion = models.ForeignKey(
        "jurisdictions.Criterion", on_delete=models.CASCADE, related_name="coverage_spans"
    )
    scope = models.CharField(max_length=12, choices=Scope.choices)
    value = models.CharField(max_length=20)
    approximate = models.BooleanField(default=False)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    deciding = models.JSONField(default=list)
    pending = models.JSONField(default=list)
    caused_by = models.JSONField(default=list)

    class Meta:
        ordering = ["jurisdiction_id", "criterion_id", "scope", "valid_from"]
        indexes = [
            models.Index(
                fields=["jurisdiction", "criterion", "scope", "valid_from"], name="coveragespan_cell"
            ),
            models.Index(fields=["criterion", "scope", "valid_to"], name="coveragespan_column"),
        ]

    def __str__(self):
        return f"{self.scope} {self.value} [{self.valid_from}, {self.valid_to})"
