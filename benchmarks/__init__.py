"""Benchmarks for doorstep: ``python -m benchmarks`` prints OCR accuracy and speed tables."""
