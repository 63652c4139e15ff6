"""The data-quality report (issue 8): where the research is thin, old, approximate or disputed.

``build_report(today, stale_days)`` returns plain data for the ``data_report`` management command
and the admin page ``/admin/data-report/``:

- research status counts per bloc (members as of ``today``) and per UN M49 region (countries);
- instruments citing no primary source (no source of kind official, legislature, government or
  court);
- assessments not verified within ``stale_days`` days (never verified included);
- status events dated only ``on_or_before`` (no source gives the day of the step), and status
  events no second reader has verified;
- conflicts between sources: instruments whose research notes record a disagreement, whose
  confidence is ``low``, or that carry the same step twice on different dates;
- the data lint (:mod:`jurisdictions.lint`): its counts per rule and every finding.
- stored text that breaks the text policy (:mod:`jurisdictions.text`: a control character,
  stored before the policy or by a raw write): model, id, field and the problem.

A fixed number of queries whatever the size of the data.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter, defaultdict

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q

from . import clock, lint
from .groups import groups
from .regions import regions_for_code
from .choices import DatePrecision, JurisdictionKind, ResearchStatus, SourceKind
from . import text
from .models import (
    Assessment,
    Instrument,
    InstrumentSource,
    Jurisdiction,
    StatusEvent,
    TrackedModel,
)

# Source kinds that count as primary: the text or its maker, not a report about it.
PRIMARY_SOURCE_KINDS = (
    SourceKind.OFFICIAL,
    SourceKind.LEGISLATURE,
    SourceKind.GOVERNMENT,
    SourceKind.COURT,
)
# Words with which the research notes record a disagreement between sources.
CONFLICT_WORDS = re.compile(
    r"\b(conflict\w*|disagree\w*|contradict\w*|inconsisten\w*|dispute\w*|"
    r"discrepan\w*|differ(?:s|ent|ing)?\s+(?:from|on)|variants?)\b",
    re.IGNORECASE,
)


def _status_counts(rows) -> dict[str, int]:
    counts = {status: 0 for status in ResearchStatus.values}
    for row in rows:
        counts[row] += 1
    counts["total"] = sum(counts.values())
    return counts


def research_status_by_group(
    as_of: datetime.date, only: str | None = None
) -> dict[str, list[str]]:
    """{group code: the research statuses of its members on ``as_of``} for every group
    (:mod:`jurisdictions.groups`), or for the group ``only``; members missing from the database
    count as not researched. One query."""
    statuses = dict(
        Jurisdiction.objects.filter(
            Q(kind=JurisdictionKind.COUNTRY) | Q(code="EU")
        ).values_list("code", "research_status")
    )
    chosen = groups() if only is None else {only: groups()[only]}
    return {
        code: [
            statuses.get(member, ResearchStatus.NOT_RESEARCHED)
            for member in group.member_codes(as_of)
        ]
        for code, group in chosen.items()
    }


def research_extent(group: str, as_of: datetime.date) -> dict[str, int]:
    """How much of one group is researched: counts per research status and ``total``."""
    return _status_counts(research_status_by_group(as_of, only=group)[group])


def stored_control_characters() -> list[dict]:
    """Every stored value of legal data that breaks the text policy, one query per model:
    ``[{"model": "jurisdictions.source", "id": 3, "field": "title", "message": …}]``."""
    from django.apps import apps

    found = []
    for model in apps.get_app_config("jurisdictions").get_models():
        if not issubclass(model, TrackedModel):
            continue
        names = [f.name for f in text.text_fields(model)]
        rows = model._default_manager.order_by("pk").values("pk", *names)
        found += text.control_characters(model, rows.iterator())
    return found


def build_report(today: datetime.date | None = None, stale_days: int | None = None) -> dict:
    """The report as a dict of sections (shapes in the module docstring; dates ISO 8601).

    ``today`` defaults to the current date; ``stale_days`` to ``settings.LAWTRACKER_STALE_DAYS``.
    """
    today = today or clock.today()
    stale_days = settings.LAWTRACKER_STALE_DAYS if stale_days is None else stale_days

    jurisdictions = list(
        Jurisdiction.objects.exclude(kind=JurisdictionKind.INTERNATIONAL).values_list(
            "code", "kind", "research_status"
        )
    )
    by_region: dict[str, list[str]] = defaultdict(list)
    for code, kind, status in jurisdictions:
        if kind == JurisdictionKind.COUNTRY:
            regions = regions_for_code(code)
            by_region[regions.region if regions else "(no M49 region)"].append(status)
    blocs = {}
    for bloc in Jurisdiction.objects.filter(kind=JurisdictionKind.SUPRANATIONAL):
        members = Jurisdiction.objects.members_of(bloc.code, today)
        blocs[bloc.code] = _status_counts(members.values_list("research_status", flat=True))
    by_group = {
        code: _status_counts(statuses)
        for code, statuses in research_status_by_group(today).items()
    }
    us_states = Jurisdiction.objects.filter(
        parent__code="US", subdivision_type__in=["State", "District"]
    ).values_list("research_status", flat=True)

    primary = InstrumentSource.objects.filter(
        instrument=OuterRef("pk"), source__kind__in=PRIMARY_SOURCE_KINDS
    )
    without_primary = list(
        Instrument.objects.filter(~Exists(primary))
        .order_by("jurisdiction__code", "slug")
        .values_list("jurisdiction__code", "slug", "confidence")
    )

    stale = Assessment.objects.stale(stale_days, today)
    stale_total = stale.count()
    never_verified = stale.filter(verified_on__isnull=True).count()

    steps = StatusEvent.objects.order_by(
        "instrument__jurisdiction__code", "instrument__slug", "date"
    ).values_list("instrument__jurisdiction__code", "instrument__slug", "status", "date")
    on_or_before = list(steps.filter(date_precision=DatePrecision.ON_OR_BEFORE))
    steps_unverified = list(steps.filter(verified_on__isnull=True))

    # The same step on two dates is a possible conflict between sources; two chambers' votes
    # (the same status, different bodies) are two steps, not a conflict.
    repeated_steps = {
        (row["instrument__jurisdiction__code"], row["instrument__slug"], row["status"])
        for row in StatusEvent.objects.values(
            "instrument__jurisdiction__code", "instrument__slug", "status", "body"
        )
        .annotate(n=Count("date", distinct=True))
        .filter(n__gt=1)
    }
    conflicts = []
    for code, slug, confidence, notes in (
        Instrument.objects.filter(Q(confidence="low") | ~Q(notes=""))
        .order_by("jurisdiction__code", "slug")
        .values_list("jurisdiction__code", "slug", "confidence", "notes")
    ):
        reasons = []
        match = CONFLICT_WORDS.search(notes or "")
        if match:
            start = max(match.start() - 60, 0)
            reasons.append("notes: …" + notes[start : match.end() + 80].replace("\n", " ") + "…")
        if confidence == "low":
            reasons.append("confidence low")
        if reasons:
            conflicts.append({"jurisdiction": code, "instrument": slug, "reasons": reasons})
    for code, slug, status in sorted(repeated_steps):
        conflicts.append(
            {
                "jurisdiction": code,
                "instrument": slug,
                "reasons": [f"the step '{status}' is recorded on more than one date"],
            }
        )

    control = stored_control_characters()
    summary = {
        "as_of": today.isoformat(),
        "stale_days": stale_days,
        "jurisdictions": len(jurisdictions),
        "researched": sum(1 for _, _, s in jurisdictions if s != ResearchStatus.NOT_RESEARCHED),
        "reviewed": sum(1 for _, _, s in jurisdictions if s == ResearchStatus.REVIEWED),
        "instruments": Instrument.objects.count(),
        "instruments_without_primary_source": len(without_primary),
        "assessments": Assessment.objects.count(),
        "assessments_stale": stale_total,
        "assessments_never_verified": never_verified,
        "status_events": StatusEvent.objects.count(),
        "status_events_on_or_before": len(on_or_before),
        "status_events_never_verified": len(steps_unverified),
        "possible_conflicts": len(conflicts),
        "control_characters": len(control),
    }
    findings = lint.lint(today)
    return {
        "summary": summary,
        "research_status_by_bloc": blocs,
        "research_status_by_group": by_group,
        "research_status_us_states": _status_counts(us_states),
        "research_status_by_region": {
            region: _status_counts(statuses) for region, statuses in sorted(by_region.items())
        },
        "instruments_without_primary_source": [
            {"jurisdiction": c, "instrument": s, "confidence": conf or None}
            for c, s, conf in without_primary
        ],
        "status_events_on_or_before": [
            {"jurisdiction": c, "instrument": s, "status": st, "date": d.isoformat()}
            for c, s, st, d in on_or_before
        ],
        "status_events_never_verified": [
            {"jurisdiction": c, "instrument": s, "status": st, "date": d.isoformat()}
            for c, s, st, d in steps_unverified
        ],
        "possible_conflicts": conflicts,
        "lint": {
            "counts": lint.counts(findings),
            "findings": [
                {"rule": f.rule, "row": f.row, "detail": f.detail} for f in findings
            ],
        },
        "control_characters": control,
        "confidence": dict(
            Counter(Instrument.objects.values_list("confidence", flat=True)).most_common()
        ),
    }


def summary_lines(report: dict) -> list[str]:
    """The report's summary as short lines of text (for the command and the README)."""
    s = report["summary"]
    lines = [
        f"Data quality as of {s['as_of']} (stale = not verified within {s['stale_days']} days)",
        f"- jurisdictions: {s['jurisdictions']} ({s['researched']} researched, {s['reviewed']} reviewed)",
    ]
    for bloc, counts in report["research_status_by_bloc"].items():
        lines.append(
            f"- {bloc} members: {counts['total']} ({counts['reviewed']} reviewed, "
            f"{counts['in_progress']} in progress, {counts['not_researched']} not researched)"
        )
    us = report["research_status_us_states"]
    lines.append(
        f"- US states and DC: {us['total']} ({us['reviewed']} reviewed, "
        f"{us['not_researched']} not researched)"
    )
    lines += [
        f"- instruments: {s['instruments']}, of which {s['instruments_without_primary_source']} "
        "cite no primary (official, legislature, government or court) source",
        f"- assessments: {s['assessments']}, of which {s['assessments_stale']} stale "
        f"({s['assessments_never_verified']} never verified)",
        f"- status events: {s['status_events']}, of which {s['status_events_on_or_before']} "
        f"dated only on_or_before, {s['status_events_never_verified']} never verified",
        f"- instruments with possible conflicts between sources: {s['possible_conflicts']}",
        f"- stored texts holding a control character: {s['control_characters']}",
    ]
    lint_counts = report["lint"]["counts"]
    lines.append(
        f"- data lint (data_report --check): {sum(lint_counts.values())} offending rows"
    )
    lines += [f"  - {lint.RULES[rule]}: {n}" for rule, n in lint_counts.items() if n]
    return lines
