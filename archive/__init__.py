"""The archive of ended calls: kept once, searchable, reviewed (issue 16)."""
