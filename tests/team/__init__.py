"""Tests of members, accounts, access and the blind rule."""
