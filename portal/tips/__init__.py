"""Citizens' tips: the public form and status page (no sign-in), and the JSON API."""
