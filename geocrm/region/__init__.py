"""The company's region in the app: loading an OSM extract, and the one travel provider.

``services`` loads a region into the instance folder (through the pure :mod:`places` library)
and keeps its road router per process; ``travel`` decides, from ``GEOCRM_TRAVEL``, what every
plan, re-plan and week spread drives on; ``cli`` is ``flask region ...``.
"""
