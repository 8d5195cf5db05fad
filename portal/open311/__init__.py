"""Open311 GeoReport v2 for citizens' tips: existing Open311 clients submit and follow tips."""
