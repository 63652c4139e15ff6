"""The editorial workflow shared by the admin, the API, imports and commands (issue 4).

- **Who, when, why.** Every write of legal data goes through ``save()``/``delete()``, so
  django-simple-history records it with its author (``HistoryRequestMiddleware`` for requests,
  ``_history_user`` otherwise) and an optional reason (``history_change_reason``, at most
  ``REASON_MAX_LENGTH`` characters). :func:`stamp` sets both on an instance.
- **Verification.** :func:`mark_verified` and :func:`mark_reviewed` record that a reviewer
  checked an answer or a jurisdiction today; :func:`stale_days` is the age (in days) after which
  an answer counts as stale (``settings.LAWTRACKER_STALE_DAYS``, default 365).
- **Lost updates.** Rows carry a ``version`` (``TrackedModel``). :func:`changes_since` says what
  happened to a row after a given version, from its history, so that a refused edit can show the
  editor what the other person changed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from .clock import today  # noqa: F401  (editorial.today() is read by the admin)

from . import text

# simple_history's history_change_reason column is a CharField(max_length=100).
REASON_MAX_LENGTH = 100

# Never shown in a diff: derived or bookkeeping columns.
NOT_DIFFED = {"search_text", "created_at", "updated_at", "version"}


def stamp(instance, user=None, reason: str | None = None):
    """Attach the author and the reason of the next write of ``instance`` to it (for
    simple_history); ``reason`` is cut to ``REASON_MAX_LENGTH`` characters. Returns
    ``instance``."""
    if user is not None and getattr(user, "is_authenticated", False):
        instance._history_user = user
    if reason:
        # Forms and the API refuse a control character in a reason (text.validate_line); one
        # in a derived reason (an imported file's name) is replaced, never stored.
        instance._change_reason = text.CONTROL.sub(text.REPLACEMENT, reason[:REASON_MAX_LENGTH])
    return instance


def stale_days() -> int:
    """Days after which a verification is stale (``settings.LAWTRACKER_STALE_DAYS``)."""
    return int(getattr(settings, "LAWTRACKER_STALE_DAYS", 365))


# Reasons written by the review itself: a reviewer's own verification or correction request
# does not make them the author of the fact.
REVIEW_REASONS = ("verified on", "needs correction")


def entered_by(fact, user) -> bool:
    """Whether ``user`` wrote ``fact`` (an assessment or a status step) — created it or changed
    it — according to its history, reviews aside (:data:`REVIEW_REASONS`). A second reader
    verifies; nobody verifies their own entry (issue 18)."""
    if user is None or fact.pk is None:
        return False
    records = type(fact).history.filter(id=fact.pk, history_user=user)
    for reason in REVIEW_REASONS:
        records = records.exclude(history_change_reason__startswith=reason)
    return records.exists()


def verify(fact, user, note: str = "", on: datetime.date | None = None) -> None:
    """Record that ``user`` checked ``fact`` (an assessment or a status step) against its
    sources: ``verified_on`` (default today), the verifier, the note (where in the source the
    fact stands); clears a pending correction request. Raises ``PermissionError`` when
    ``user`` entered the fact (:func:`entered_by`)."""
    if entered_by(fact, user):
        raise PermissionError(
            "You entered or changed this fact yourself: a second reader verifies it."
        )
    on = on or today()
    fact.verified_on, fact.verified_by = on, user
    if note:
        fact.verification_note = note
    fact.correction_note = ""
    stamp(fact, user, f"verified on {on.isoformat()}" + (f": {note}" if note else ""))
    fact.save()


def needs_correction(fact, user, reason: str) -> None:
    """A reviewer found ``fact`` not supported by its sources: it leaves the verified facts
    (``verified_on`` cleared) and joins the editors' queue with ``reason``."""
    fact.correction_note = reason
    fact.verified_on, fact.verified_by = None, None
    stamp(fact, user, f"needs correction: {reason}")
    fact.save()


@transaction.atomic
def mark_verified(assessments, user, on: datetime.date | None = None, reason: str | None = None):
    """Set ``verified_on`` (default today) and ``verified_by`` on each assessment, one
    ``save()`` each so that every one gets its history record, skipping those ``user``
    entered (:func:`entered_by`). Returns the number saved.

    The caller checks the ``jurisdictions.verify_assessment`` permission.
    """
    on = on or today()
    count = 0
    for assessment in assessments:
        if entered_by(assessment, user):
            continue
        assessment.verified_on = on
        assessment.verified_by = user
        stamp(assessment, user, reason or f"verified on {on.isoformat()}")
        assessment.save()
        count += 1
    return count


@transaction.atomic
def mark_reviewed(jurisdictions, user, on: datetime.date | None = None, reason: str | None = None):
    """Record a review of each jurisdiction: ``last_reviewed_on`` (default today),
    ``reviewed_by`` and research status ``reviewed``. Returns the number saved.

    The caller checks the ``jurisdictions.review_jurisdiction`` permission.
    """
    from .choices import ResearchStatus

    on = on or today()
    count = 0
    for jurisdiction in jurisdictions:
        jurisdiction.last_reviewed_on = on
        jurisdiction.reviewed_by = user
        jurisdiction.research_status = ResearchStatus.REVIEWED
        stamp(jurisdiction, user, reason or f"reviewed on {on.isoformat()}")
        jurisdiction.save()
        count += 1
    return count


# --- who the public sees (issue 18) ----------------------------------------------------------
# People who work on child-abuse law can be harassed for it: anonymous answers (API, pages,
# feeds, CSV) never name an account. They say what role acted, with the date; an organisation
# may publish a display name it chooses for an account (``settings.LAWTRACKER_PUBLIC_NAMES``,
# ``{username: display name}``). Staff see usernames in the admin and the authenticated API.
ROLE_NOUNS = {"editor": "an editor", "reviewer": "a reviewer"}


def sees_staff_names(user) -> bool:
    """Whether ``user`` (a request's user, possibly anonymous) may see account names: an active
    account that is staff or holds a group (an editor or reviewer)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_staff or user.is_superuser or user.groups.exists())


def public_name(username: str | None, role: str, show_names: bool) -> str | None:
    """How to name the account ``username`` that acted as ``role`` (``editor`` or
    ``reviewer``): the username for staff (``show_names``), else the display name the
    organisation published for it, else "an editor" / "a reviewer". None when no account is
    recorded (a script or a data load)."""
    if not username:
        return None
    if show_names:
        return username
    published = getattr(settings, "LAWTRACKER_PUBLIC_NAMES", None) or {}
    return published.get(username) or ROLE_NOUNS[role]


# --- what changed since a version ------------------------------------------------------------
@dataclass
class FieldChange:
    """One field of one historical version: its label and the values before and after (text)."""

    label: str
    old: str
    new: str


@dataclass
class VersionChange:
    """One write after the version an edit was based on (from the row's history)."""

    version: int
    date: datetime.datetime
    user: str | None
    kind: str  # "created", "changed", "deleted"
    reason: str | None
    fields: list[FieldChange] = field(default_factory=list)

    def text(self) -> str:
        """One line: ``version 3, 2026-11-29 14:02 UTC, by bob (reason): title: “a” → “b”``."""
        who = f"by {self.user}" if self.user else "by an unrecorded user"
        when = self.date.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        head = f"version {self.version}, {when}, {who}"
        if self.reason:
            head += f" (reason: {self.reason})"
        if self.kind == "deleted":
            return f"{head}: deleted the record"
        if not self.fields:
            return f"{head}: saved without changing any field"
        parts = "; ".join(f"{c.label}: “{c.old}” → “{c.new}”" for c in self.fields)
        return f"{head}: {parts}"


def display_value(model, name: str, value) -> str:
    """A value of field ``name`` for people: a related row's ``str``, a choice's label."""
    if value in (None, ""):
        return "—"
    model_field = model._meta.get_field(name)
    if model_field.is_relation:
        related = model_field.related_model._default_manager.filter(pk=value).first()
        return str(related) if related is not None else f"(deleted row {value})"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def changes_since(model, pk, version: int, limit: int = 10) -> list[VersionChange]:
    """The recorded writes of row ``pk`` of ``model`` after ``version``, oldest first, each with
    the fields it changed (at most ``limit`` writes, the latest ones)."""
    history = model.history.filter(id=pk).order_by("history_date", "history_id")
    records = list(history.select_related("history_user"))
    if not records:
        return []
    base_index = None
    for index, record in enumerate(records):
        if record.version == version:
            base_index = index
    later = records[base_index + 1 :] if base_index is not None else records[-limit:]
    previous = records[base_index] if base_index is not None else None
    result = []
    kinds = {"+": "created", "~": "changed", "-": "deleted"}
    for record in later:
        fields = []
        if previous is not None and record.history_type != "-":
            delta = record.diff_against(previous)
            for change in delta.changes:
                if change.field in NOT_DIFFED:
                    continue
                fields.append(
                    FieldChange(
                        label=str(model._meta.get_field(change.field).verbose_name),
                        old=display_value(model, change.field, change.old),
                        new=display_value(model, change.field, change.new),
                    )
                )
        user = record.history_user
        result.append(
            VersionChange(
                version=record.version,
                date=record.history_date,
                user=user.get_username() if user is not None else None,
                kind=kinds.get(record.history_type, record.history_type),
                reason=record.history_change_reason,
                fields=fields,
            )
        )
        previous = record
    return result[-limit:]
