"""Tests of REFI-QDA .qdpx and .qdc."""
