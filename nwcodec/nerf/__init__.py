"""Neural radiance field scenes on CPU: data readers, fields, samplers, renderers, training.

Split after nerfstudio: ``dataparsers`` read scenes, ``fields`` map points to colour and density,
``samplers`` place samples along rays, ``renderers`` integrate them, ``model`` bundles the lot.
"""
