"""Reporters: turn results into text or machine formats on a stream (registries per result kind).

``policy.report.diagnostics`` holds the reporters of ``pmempolicy validate``.
"""
