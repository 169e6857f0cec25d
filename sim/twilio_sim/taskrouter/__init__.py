"""A simulated TaskRouter Workspace beside the simulated voice API (issue 12)."""
