"""Checks of what was built and deployed: trivy's scans, and a deployed Service's /healthz."""
