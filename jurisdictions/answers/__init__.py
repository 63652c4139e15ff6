"""The read layer: one module per question the product answers (STYLE.md, "One answer per
question"; issue 16).

Each module holds the question's parameters, one ``build()`` returning plain frozen dataclasses,
and the CSV columns of that answer, defined once. The API views (:mod:`jurisdictions.api`), the
pages (:mod:`jurisdictions.pages`) and the CSV downloads of both only render what ``build()``
returns, so they cannot disagree.

- :mod:`.compare`: the jurisdictions × criteria matrix of effective values (also one
  jurisdiction's coverage table and the world map's countries);
- :mod:`.gaps`: the jurisdictions lacking coverage for one criterion, grouped by value;
- :mod:`.timeline`: a jurisdiction's dated steps and events;
- :mod:`.changes`: what was edited, from the history tables;
- :mod:`.base`: what the answers share (a jurisdiction as shown, a cell, its deciders, the
  :class:`~.base.Links` through which a channel passes in its URLs).

The rules themselves are not here: effective coverage is :mod:`jurisdictions.coverage`, the
selection of jurisdictions :mod:`jurisdictions.selection`. Nothing here imports the API or the
pages: addresses are built by the :class:`~.base.Links` the caller passes in.
"""
