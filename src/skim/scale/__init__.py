"""Scale-out on a Ray cluster: the same stages, distributed with Ray Data.

Nothing here is imported unless a run asks for Ray (``--ray`` or ``[ray] address``), so a
machine without the ``ray`` extra never loads it. Every module reuses the single-process
pieces (the generators, the encoder and its cache, :func:`skim.index.build_index`, the map
reduction) and only distributes them.
"""
