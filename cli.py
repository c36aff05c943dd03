#!/usr/bin/env python3
"""Checkout shim: ``python cli.py ...`` runs pmempolicy without installing it."""
from policy.cli import main

if __name__ == "__main__":
    main()
