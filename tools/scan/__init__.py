"""The vulnerability gate: trivy's vulnerability scan of every image, judged by a reviewed
policy (security/scan-policy.toml) with VEX, against a database that must be present and fresh.

policy (what fails) → database (which trivy.db, how old, fail closed) → gate (scan, judge,
write table, JSON and SARIF) → result (what the release attests). fixture makes a small
database in trivy's own format for the gate's tests.
"""
