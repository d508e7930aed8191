"""Smoke tests of the local control plane."""
