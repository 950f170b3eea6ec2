"""Tests of decoding, formats, speakers and hostile files."""
