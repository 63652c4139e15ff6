#!/usr/bin/env python
"""Measure proposed changes to code the benchmark does not own, without editing it.

``python bench/prototypes.py --scale small [--database-url URL]`` times the filtered list page
and the CSV export in-process (Django test client, median of repeated runs) as the code stands,
then with each proposal applied *in this process only* (monkeypatching), and prints the gain.
The proposals are written out in bench/FINDINGS.md; each one here is the smallest code that
shows its effect:

- ``url_prefix``: ``serializers.api_url`` reverses each view once per request and formats the
  key into it, instead of a ``reverse()`` and ``build_absolute_uri()`` per nested link (~40 per
  instrument);
- ``steps_field``: ``InstrumentSerializer.get_status_events`` reuses one ``StepSerializer`` per
  request instead of building a new ModelSerializer (and its nested source serializer) for every
  row;
- ``flat_csv``: the instrument CSV is built from plain ``values_list`` rows per batch (status,
  key dates, assessments, identifiers, sources), never through the nested JSON serializer.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AS_OF = "2026-06-30"
LIST = (f"/api/v1/instruments/?status=adopted,in_force,partially_in_force&covers=possession"
        f"&within=US&as_of={AS_OF}&page_size=50")
EXPORT = f"/api/v1/instruments/?format=csv&as_of={AS_OF}"


def timed(client, path, runs, budget):
    def once():
        response = client.get(path)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, (response.status_code, body[:200])
        return body

    body = once()
    times, started = [], time.perf_counter()
    while len(times) < runs and (not times or time.perf_counter() - started < budget):
        t0 = time.perf_counter()
        once()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), body


def url_prefix():
    from django.urls import reverse

    from jurisdictions.api import serializers as s

    original = s.api_url
    templates = {}

    def api_url(context, view_name, **kwargs):
        # One reverse per view and key name, then string formatting: the key is a slug or a
        # code (letters, digits, hyphens), which needs no quoting.
        request = context.get("request")
        key = (view_name, tuple(sorted(kwargs)), request is not None and request.get_host())
        template = templates.get(key)
        if template is None:
            # A marker every key pattern accepts (digits, 7 characters: pk, slug and code).
            marker = {k: f"773{i:04d}" for i, k in enumerate(sorted(kwargs))}
            path = reverse(f"api:{view_name}", kwargs=marker)
            base = request.build_absolute_uri(path) if request is not None else path
            template = templates[key] = (base, marker)
        base, marker = template
        for name, mark in marker.items():
            base = base.replace(mark, str(kwargs[name]))
        return base

    s.api_url = api_url
    return lambda: setattr(s, "api_url", original)


def steps_field():
    from jurisdictions.api import serializers as s

    original = s.InstrumentSerializer.get_status_events

    def get_status_events(self, obj):
        serializer = self.context.get("_steps_serializer")
        if serializer is None:
            serializer = self.context["_steps_serializer"] = s.StepSerializer(
                context=self.context)
        return [serializer.to_representation(step) for step in obj._events()]

    s.InstrumentSerializer.get_status_events = get_status_events
    return lambda: setattr(s.InstrumentSerializer, "get_status_events", original)


def flat_csv():
    """The instrument CSV from plain rows: one values_list query per table per batch."""
    from collections import defaultdict

    from jurisdictions.api import renderers, views
    from jurisdictions.api.renderers import csv_response
    from jurisdictions.choices import STATUS_SEQUENCE
    from jurisdictions.models import (
        Assessment, Criterion, Identifier, InstrumentSource, StatusEvent)

    original = views.InstrumentViewSet.csv_list
    force = {"in_force": "InForce", "partially_in_force": "PartiallyInForce"}

    def csv_list(self, queryset):
        columns = self.csv_columns()
        criteria = list(Criterion.objects.filter(retired=False).values_list("pk", "slug"))
        as_of = self.as_of
        base = self.request.build_absolute_uri("/api/v1/instruments/")

        def rows():
            fields = ("pk", "slug", "jurisdiction__code", "instrument_type", "title",
                      "original_title", "original_language", "short_name", "citation",
                      "official_url", "confidence", "summary", "max_penalty", "notes",
                      "updated_at")
            it = queryset.values_list(*fields).iterator(chunk_size=renderers.CSV_BATCH)
            for batch in renderers.batched(it, renderers.CSV_BATCH):
                ids = [r[0] for r in batch]
                steps = defaultdict(list)
                for iid, date, status, precision, pk in StatusEvent.objects.filter(
                        instrument_id__in=ids).values_list(
                        "instrument_id", "date", "status", "date_precision", "pk"):
                    steps[iid].append((date, STATUS_SEQUENCE.get(status, 0), pk, status,
                                       precision))
                values = defaultdict(dict)
                for iid, cid, value in Assessment.objects.filter(
                        instrument_id__in=ids).values_list("instrument_id", "criterion_id",
                                                           "value"):
                    values[iid][cid] = value
                idents = defaultdict(list)
                for iid, scheme, value in Identifier.objects.filter(
                        instrument_id__in=ids).order_by("scheme", "value").values_list(
                        "instrument_id", "scheme", "value"):
                    idents[iid].append(f"{scheme}:{value}")
                urls = defaultdict(list)
                for iid, url in InstrumentSource.objects.filter(
                        instrument_id__in=ids).order_by("pk").values_list(
                        "instrument_id", "source__url"):
                    urls[iid].append(url)
                for r in batch:
                    life = sorted(steps[r[0]])
                    current = None
                    first = {}
                    for step in life:
                        if step[0] <= as_of:
                            current = step
                        kind = {"introduced": "introduced", "adopted": "adopted",
                                "in_force": "in_force",
                                "partially_in_force": "in_force"}.get(step[3])
                        if kind and kind not in first:
                            first[kind] = step
                    later = [s for s in life if s[0] > as_of]
                    approximate = bool(later) and later[0][4] == "on_or_before"
                    status = current[3] if current else None
                    line = [r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                            as_of.isoformat(), status,
                            current[0].isoformat() if current else None,
                            current[4] if current else None, approximate,
                            force.get(status, "NotInForce") if status else None]
                    for kind in ("introduced", "adopted", "in_force"):
                        step = first.get(kind)
                        line += [step[0].isoformat() if step else None,
                                 step[4] if step else None]
                    line.append(idents[r[0]])
                    line += [values[r[0]].get(pk) for pk, _ in criteria]
                    line += [urls[r[0]], r[10], r[11], r[12], r[13], f"{base}{r[1]}/",
                             r[14].isoformat().replace("+00:00", "Z")]
                    yield line

        return csv_response(self.csv_filename(), [c.header for c in columns], rows())

    views.InstrumentViewSet.csv_list = csv_list
    return lambda: setattr(views.InstrumentViewSet, "csv_list", original)


PROPOSALS = {"url_prefix": url_prefix, "steps_field": steps_field, "flat_csv": flat_csv}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--what", choices=["list", "export", "both"], default="both")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{ROOT / 'var' / 'bench' / f'{args.scale}.sqlite3'}"
    os.environ.update({
        "DATABASE_URL": url, "DEBUG": "0", "SECRET_KEY": "bench-only-not-secret",
        "ALLOWED_HOSTS": "testserver", "SECURE_SSL_REDIRECT": "0",
        "API_ANON_RATE": "1000000/minute", "DJANGO_SETTINGS_MODULE": "lawtracker.settings",
        "LOG_LEVEL": "ERROR",
    })
    import django

    django.setup()
    from django.test import Client

    client = Client()
    plans = [("as is", []), ("url_prefix", ["url_prefix"]), ("steps_field", ["steps_field"]),
             ("url_prefix + steps_field", ["url_prefix", "steps_field"]),
             ("flat_csv", ["flat_csv"])]
    baseline = {}
    for label, names in plans:
        undo = [PROPOSALS[n]() for n in names]
        try:
            for what, path in (("list", LIST), ("export", EXPORT)):
                if what == "list" and names == ["flat_csv"]:
                    continue
                if args.what not in (what, "both"):
                    continue
                if what == "export" and names and names != ["flat_csv"]:
                    continue  # the export is measured as is and with flat_csv only
                ms, body = timed(client, path, args.runs, args.budget)
                baseline.setdefault((what, "body"), body)
                same = body == baseline[(what, "body")]
                base = baseline.setdefault(what, ms)
                print(f"{args.scale:7} {what:7} {label:28} {ms:10.1f} ms  x{base / ms:5.1f} "
                      f"faster  same bytes: {same}", flush=True)
        finally:
            for u in undo:
                u()
    return 0


if __name__ == "__main__":
    sys.exit(main())
