"""Pages for people: the home page, the comparison matrix, the gaps, the world map, one page per
jurisdiction and per instrument (issue 5; DOMAIN.md, "The public contract").

Every page is server-rendered and works without JavaScript. Every page reproduces itself from its
URL (filters and ``as_of`` in the query string), offers its table as CSV (``?format=csv``), a
"Cite this" block and the date the data last changed. The answers come from
:mod:`jurisdictions.coverage`; no rule of effective coverage is written a second time here.

Modules: :mod:`.params` (query parameters, 400 on bad input), :mod:`.views`, :mod:`.export`
(CSV), :mod:`.citation` ("Cite this"), :mod:`.changes` (last change and recent edits, from the
history tables), :mod:`.worldmap` (the SVG map).
"""
