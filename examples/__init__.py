"""Example systems outside Skuldkoll that talk to it over HTTP only (no imports from
``shared``, ``portals``, ``worker`` or ``simulators``)."""
