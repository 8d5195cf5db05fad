"""The planner's view of coverage: uncovered villages, under-staffed teams, unmapped land."""
