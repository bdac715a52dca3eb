"""Which layers feed each layer of a model read from source: the edges of its diagram."""

from __future__ import annotations

from kerasfix.graph.model import LayerNode, ModelGraph


def inbound_layers(model: ModelGraph) -> dict[int, list[LayerNode]]:
    """For each layer of `model` (by `id`), the layers whose outputs it is called on, in call order,
    each once. A Sequential model is a chain; a Functional model's edges are read from its tensors,
    from the outputs back to the inputs, so branches and merges are what the program wrote."""
    inbound: dict[int, list[LayerNode]] = {id(layer): [] for layer in model.layers}
    if model.kind == "Sequential":
        for previous, layer in zip(model.layers, model.layers[1:]):
            inbound[id(layer)].append(previous)
        return inbound
    members = {id(layer) for layer in model.layers}
    inputs = {id(tensor) for tensor in model.inputs}
    seen: set[int] = set()
    stack = list(model.outputs)
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        if tensor.layer is None or tensor.is_input or id(tensor) in inputs:
            continue
        sources = inbound.setdefault(id(tensor.layer), [])
        for feeding in tensor.inputs:
            if feeding.layer is not None and id(feeding.layer) in members and feeding.layer not in sources:
                sources.append(feeding.layer)
        stack.extend(tensor.inputs)
    return inbound
