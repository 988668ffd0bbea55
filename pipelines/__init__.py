"""doorstep: messy, scanned, legacy documents → clean, structured, scored chunks.

Layers, each importing only the ones before it:
``model``/``config``/``errors`` ← ``extractors`` ← ``stages``/``convert`` ← ``flows``/``cli``.
Only ``pipelines.flows`` imports Prefect.
"""

__version__ = "0.1.0"
