"""Checks of what was built and deployed: trivy's scans, compose's check of compose.yaml,
and a deployed Service's /healthz."""
