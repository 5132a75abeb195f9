"""Geocoding in the app: addresses to pins (forward), positions to addresses (reverse).

* :mod:`geocrm.geocoding.engine` picks the :class:`places.geocode.Geocoder` from one setting
  (``GEOCRM_GEOCODER``: the region's own index, or a self-hosted Nominatim, Photon or Pelias).
* :mod:`geocrm.geocoding.services` places accounts from their addresses (through
  :func:`geocrm.core.accounts.move_pin`, never over a person's or a check-in's pin), fills in
  addresses from pins, and keeps the named confidence in ``account_geocodes``.
* :mod:`geocrm.geocoding.jobs` runs that in the background with progress (after an import,
  after address edits), and :mod:`geocrm.geocoding.cli` from the command line.
"""
