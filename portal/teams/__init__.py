"""Teams: the list and a team's page (members, covered areas, history)."""
