"""Running on a Ray cluster: the address, the actor pool's size, one-sentence errors.

The stages' Ray paths live beside their single-process code (:mod:`skim.map.ray_map`,
:mod:`skim.generate.ray_run`) and use this package; nothing here imports Ray unless a run asks
for it (``--ray`` or ``[ray] address``), so a machine without the ``ray`` extra never loads it.
"""
