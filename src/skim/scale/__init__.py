"""Running on a Ray cluster: the address, the actor pool over blocks of texts, one-sentence
errors.

The Ray paths live beside their single-process code (:func:`skim.encode.encode_on_ray`,
:mod:`skim.map.ray_map`, :mod:`skim.generate.ray_run`, :mod:`skim.generate.ray_llm`) and use
this package; nothing here imports Ray unless a run asks
for it (``--ray`` or ``[ray] address``), so a machine without the ``ray`` extra never loads it.
"""
