"""The small, hand-made world of the tests (``world`` in conftest.py) (the real seed is tested in test_api_seed.py).

Shaped after the research: an EU directive in force and a recast proposal pending; Korea's
statute and its 2024 amendment; US federal law inherited by California and Ohio, Ohio's pending
bill; the UK's EU membership ending on 2020-01-31; São Paulo for accent-insensitive search.
Every instrument has status events, assessments and sources, so that prefetching does the same
work for one row as for fifty.

``world`` (a fixture) returns the objects by key: ``w.j["KR"]``, ``w.i["kr-act"]``, ``w.s[...]``.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from django.contrib.auth import get_user_model

from jurisdictions.models import (
    BlocMembership,
    Event,
    EventJurisdiction,
    EventSource,
    Identifier,
    InstrumentAmendment,
    Jurisdiction,
)
from tests import factories as f

D = datetime.date.fromisoformat


def build_world() -> SimpleNamespace:
    w = SimpleNamespace(j={}, i={}, s={}, e={}, c={})
    editor = get_user_model().objects.create_user("editor", password="x-not-used")
    w.editor = editor

    for slug, position, retired in (
        ("possession", 1, False),
        ("production", 2, False),
        ("old_question", 9, True),
    ):
        w.c[slug] = f.criterion(slug, label=slug.replace("_", " ").title(), position=position,
                                retired=retired)

    def jur(code, name, status="reviewed", **kw):
        kw.setdefault("research_status", status)
        w.j[code] = f.jurisdiction(code, name=name, **kw)
        return w.j[code]

    jur("EU", "European Union")
    jur("UN", "United Nations", kind="international", status="not_researched")
    jur("DE", "Germany", numeric_code="276")
    jur("FR", "France", status="not_researched", numeric_code="250")
    jur("GB", "United Kingdom", numeric_code="826")
    jur("KR", "Korea, Republic of", common_name="South Korea", numeric_code="410")
    jur("US", "United States", numeric_code="840")
    jur("BR", "Brazil", status="not_researched", numeric_code="076")
    jur("US-CA", "California", subdivision_type="State", parent=w.j["US"])
    jur("US-OH", "Ohio", status="in_progress", subdivision_type="State", parent=w.j["US"])
    jur("BR-SP", "São Paulo", status="not_researched", subdivision_type="State",
        parent=w.j["BR"])
    Jurisdiction.objects.filter(code="KR").update(
        reviewed_by=editor, last_reviewed_on=D("2025-06-30")
    )
    for member, start, end in (("DE", "1958-01-01", None), ("FR", "1958-01-01", None),
                               ("GB", "1973-01-01", "2020-01-31")):
        BlocMembership.objects.create(bloc=w.j["EU"], member=w.j[member], start_date=D(start),
                                      end_date=D(end) if end else None)

    w.s["eurlex"] = f.source("https://eur-lex.europa.eu/eli/dir/2011/93/oj", title="Directive "
                             "2011/93/EU", publisher="EUR-Lex", kind="official",
                             published_on=D("2011-12-17"), accessed_on=D("2026-11-01"),
                             language="en",
                             archived_url="https://web.archive.org/web/2024/eurlex")
    w.s["news"] = f.source("https://news.example.org/kr-deepfakes", title="Séoul tightens "
                           "deepfake law", publisher="Example News", kind="news",
                           published_on=D("2024-09-01"), published_precision="month",
                           language="ko")

    def law(slug, code, itype, title, steps, values, **kw):
        instrument = f.instrument(code, slug=slug, instrument_type=itype, title=title, **kw)
        for status, date, *precision in steps:
            f.event(instrument, status, date, *precision)
        for criterion, value, *extra in values:
            f.assessment(instrument, criterion, value, **(extra[0] if extra else {}))
        w.i[slug] = instrument
        return instrument

    law("eu-csa-directive", "EU", "directive",
        "Directive 2011/93/EU on combating child sexual abuse",
        [("passed_chamber", "2011-10-27"), ("adopted", "2011-12-13"),
         ("in_force", "2013-12-18", "on_or_before")],
        [("possession", "yes"), ("production", "yes")],
        short_name="CSA Directive (2011)", citation="OJ L 335, 17.12.2011", confidence="medium")
    law("eu-recast", "EU", "proposal", "Proposal for a recast child sexual abuse directive",
        [("introduced", "2024-02-06")], [("possession", "yes"), ("production", "yes")],
        citation="COM(2024) 60 final", short_name="Recast CSA Directive", confidence="high")
    Identifier.objects.create(instrument=w.i["eu-recast"], scheme="celex", value="52024PC0060")
    Identifier.objects.create(instrument=w.i["eu-recast"], scheme="procedure",
                              value="2024/0035(COD)")
    law("kr-act", "KR", "statute", "Act on Special Cases Concerning the Punishment of Sexual "
        "Crimes", [("adopted", "2010-04-15"), ("in_force", "2010-04-15")],
        [("possession", "no"), ("production", "yes")],
        original_title="성폭력범죄의 처벌 등에 관한 특례법", original_language="ko",
        short_name="Sexual Violence Punishment Act", confidence="high")
    law("kr-2024-amendment", "KR", "amendment", "Amendment criminalising possession of deepfakes",
        [("introduced", "2024-08-01", "month"), ("adopted", "2024-10-16"),
         ("in_force", "2024-10-16")],
        [("possession", "yes", {"pinpoint": "art. 14-2", "verified_on": D("2026-10-01"),
                                "verified_by": editor, "basis": "text"})],
        original_language="ko", confidence="high",
        summary="Makes possessing, buying, storing or viewing sexual deepfakes a crime.")
    InstrumentAmendment.objects.create(amending=w.i["kr-2024-amendment"], amended=w.i["kr-act"])
    law("us-federal", "US", "statute", "18 U.S.C. 1466A obscene visual representations",
        [("in_force", "2003-04-30")], [("possession", "yes"), ("production", "yes")],
        citation="18 U.S.C. § 1466A", confidence="high")
    law("us-ca-ab1831", "US-CA", "statute", "AB 1831 artificial intelligence child abuse material",
        [("introduced", "2024-01-12"), ("adopted", "2024-09-29"), ("in_force", "2025-01-01")],
        [("production", "yes", {"commencement_date": D("2025-01-01")}), ("possession", "yes")],
        short_name="AB 1831", confidence="high")
    law("us-ca-old-bill", "US-CA", "bill", "An older California bill, vetoed",
        [("introduced", "2019-02-01", "month"), ("vetoed", "2019-10-01")],
        [("production", "partial")], short_name="AB 0001", confidence="low")
    law("us-oh-bill", "US-OH", "bill", "Ohio bill on AI-generated child sexual abuse material",
        [("introduced", "2025-03-01", "month"), ("in_committee", "2025-04-15")],
        [("possession", "yes")], short_name="HB 1", confidence="medium")
    law("de-stgb-184b", "DE", "code_provision", "Criminal Code, section 184b",
        [("in_force", "2021-07-01")], [("possession", "yes"), ("production", "partial")],
        original_title="Strafgesetzbuch § 184b", original_language="de", confidence="high")
    law("br-eca", "BR", "statute", "Estatuto da Criança e do Adolescente",
        [("in_force", "2008-01-01", "year")], [("production", "yes")],
        original_language="pt", summary="Protects children in São Paulo and everywhere else.")
    w.i["eu-csa-directive"].citations.create(source=w.s["eurlex"])
    w.i["kr-2024-amendment"].citations.create(source=w.s["news"])
    adopted = w.i["kr-2024-amendment"].status_events.get(status="adopted")
    adopted.citations.create(source=w.s["news"])
    adopted.body, adopted.verified_on, adopted.verified_by = "unicameral", D("2026-10-02"), editor
    adopted.save()
    w.i["kr-2024-amendment"].assessments.get().citations.create(source=w.s["news"])

    def event(slug, date, kind, title, codes, precision="day", instrument=None, figures=None,
              sources=(), **kw):
        obj = Event.objects.create(slug=slug, date=D(date), date_precision=precision, kind=kind,
                                   title=title, instrument=instrument, figures=figures or {},
                                   **kw)
        for code in codes:
            EventJurisdiction.objects.create(event=obj, jurisdiction=w.j[code])
        for source in sources or [f.source()]:
            EventSource.objects.create(event=obj, source=source)
        w.e[slug] = obj
        return obj

    event("eu-transposition-deadline", "2013-12-18", "transposition_deadline",
          "Transposition deadline of Directive 2011/93/EU", ["EU"],
          instrument=w.i["eu-csa-directive"], sources=[w.s["eurlex"]], confidence="high")
    event("kr-police-report", "2024-09-01", "report", "Police report on deepfake cases", ["KR"],
          precision="month", figures={"cases": 812}, confidence="medium",
          summary="Reported deepfake sexual crime cases in Séoul and elsewhere.")
    event("operation-cumberland", "2025-02-26", "enforcement_operation", "Operation Cumberland",
          ["EU", "DE"], figures={"arrests": 25, "suspects": 273}, confidence="high",
          notes="Europol-coordinated.")
    return w
