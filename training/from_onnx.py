"""Start training from an exported model: its weights read back out of the ONNX file.

The exporter folds each BatchNorm into the convolution before it, so the file holds one weight and
one bias per convolution. `load_onnx_weights` puts them back into a freshly built network of the
same architecture: each convolution gets the folded weight, and its BatchNorm is set so that it
computes `x + bias` in eval mode (the exported function, exactly) and renormalises with statistics
of real crops in training mode (so the first training steps start from the exported model rather
than from a network whose BatchNorm layers see an unexpected scale).

    python -m training.train --name v2 --init training/models/photoface-pf-nn4s-v1.onnx ...
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from photoface.core.model_contract import is_flip_averaged
from training.model import forward_once

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)


Conv = tuple[str, np.ndarray, np.ndarray]  # the module it was traced from, weight, bias


def _onnx_convs(path: Path) -> tuple[list[Conv], dict[str, np.ndarray]]:
    """(module, weight, bias) of every distinct convolution in graph order, and every constant
    by name (the head's weight and bias among them). A flip-averaged export runs the network
    twice (the face, then its mirror image); the tracer gives the second copy Identity nodes
    over the same initializers, so each weight is followed back to its initializer and a
    convolution whose weight was already seen is the second copy of one, not another layer. An
    int8 export (`training.quantize`) holds each weight as int8 values, a scale and a zero point
    read through a DequantizeLinear node: they are dequantized here."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i).copy() for i in graph.initializer}
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
    int8_of: dict[str, str] = {}  # a dequantized weight's name -> its int8 initializer's
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(i in inits for i in node.input):
            value = _dequantized(node, inits)
            inits[node.output[0]] = value
            int8_of[node.output[0]] = quantized = node.input[0]
            if quantized.endswith("_quantized"):  # the float tensor's own name, too
                inits.setdefault(quantized.removesuffix("_quantized"), value)

    def source(name: str) -> str:
        while name in alias:
            name = alias[name]
        return name

    convs, seen = [], set()
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        names = [source(n) for n in node.input[1:3]]
        if len(names) < 2 or not all(n in inits for n in names):
            raise ValueError(f"{path}: convolution {node.name!r} has no constant weight and bias")
        weight = int8_of.get(names[0], names[0])  # copies of one weight share their source
        if weight in seen:
            continue
        seen.add(weight)
        convs.append((_module_of(node.name), inits[names[0]], inits[names[1]]))
    for prefix in ("", "net."):  # a flip-averaged export wraps the network as `net`
        if f"{prefix}head.weight" in inits:
            inits["head.weight"] = inits[f"{prefix}head.weight"]
            inits["head.bias"] = inits[f"{prefix}head.bias"]
            break
    return convs, inits


def _module_of(node_name: str) -> str:
    """The qualified name of the module a traced node came from:
    '/net/blocks/blocks.0/b3/b3.0/b3.0.0_1/Conv' -> 'net.blocks.0.b3.0.0'. The tracer scopes
    a node by each module it ran in, named within its parent module's scope, and numbers a
    module's second call."""
    name, last = "", ""
    for part in node_name.strip("/").split("/")[:-1]:
        part = re.sub(r"_\d+$", "", part)
        if last and part.startswith(last + "."):
            name += part[len(last) :]  # a child of the part before, named from it
        else:
            name = f"{name}.{part}" if name else part
        last = part
    return name


def _dequantized(node: onnx.NodeProto, inits: dict[str, np.ndarray]) -> np.ndarray:
    """The float value of a DequantizeLinear node over constants: (q - zero point) * scale,
    per channel along its axis when the scale is a vector."""
    q = inits[node.input[0]].astype(np.float32)
    scale = inits[node.input[1]].astype(np.float32)
    has_zero = len(node.input) > 2 and node.input[2]
    zero = inits[node.input[2]].astype(np.float32) if has_zero else np.zeros_like(scale)
    axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
    if scale.ndim == 1 and q.ndim > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (q - zero) * scale


def _flip_averaged(path: Path) -> bool:
    """Whether the file embeds a face with its mirror image (the network must run the same way
    to be compared with it); only this flag is read, so a file with partial metadata will do."""
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return is_flip_averaged(meta)


def _conv_bn_in_call_order(model: nn.Module, size: int) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    """Each convolution with the BatchNorm that follows it, in the order forward() calls them
    (the order the exporter traced them in)."""
    bn_after: dict[nn.Conv2d, nn.BatchNorm2d] = {}
    for mod in model.modules():
        kids = list(mod.children())
        for a, b in zip(kids, kids[1:], strict=False):
            if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                bn_after[a] = b
    order: list[nn.Conv2d] = []
    forward_once(model, (nn.Conv2d,), lambda m, i, o: order.append(m), size)
    missing = [c for c in order if c not in bn_after]
    if missing:
        raise ValueError(f"{len(missing)} convolutions have no BatchNorm after them")
    return [(c, bn_after[c]) for c in order]


def load_onnx_weights(model: nn.Module, path: Path, calib: torch.Tensor) -> float:
    """Fill `model` (built with the exported model's architecture) from the ONNX file at `path`;
    `calib` is a batch of pre-processed crops (N x 3 x S x S) for the BatchNorm statistics.
    Returns the largest difference between the model's eval output and the file's on `calib`."""
    found, inits = _onnx_convs(path)
    pairs = _conv_bn_in_call_order(model, calib.shape[-1])
    if len(pairs) != len(found):
        raise ValueError(
            f"{path} has {len(found)} convolutions, the network {len(pairs)}: "
            "not the same architecture"
        )
    # Matched by the module each was traced from where the file names them all (an int8 file's
    # nodes are not in call order), else in graph order (the exporter's order is the call order).
    module_name = {m: name for name, m in model.named_modules()}
    by_module = {name.removeprefix("net."): (w, b) for name, w, b in found}  # flip: in `net`
    if len(by_module) == len(found) and all(module_name[c] in by_module for c, _ in pairs):
        convs = [by_module[module_name[c]] for c, _ in pairs]
    else:
        convs = [(w, b) for _, w, b in found]
    with torch.no_grad():
        for i, ((conv, bn), (w, b)) in enumerate(zip(pairs, convs, strict=True)):
            if tuple(conv.weight.shape) != w.shape:
                raise ValueError(
                    f"convolution {i}: the file's weight is {w.shape}, the "
                    f"network's {tuple(conv.weight.shape)}"
                )
            conv.weight.copy_(torch.from_numpy(w))
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(b))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        head = getattr(model, "head", None)
        if not isinstance(head, nn.Linear) or "head.weight" not in inits:
            raise ValueError(f"{path}: no 'head' layer to load the embedding projection from")
        head.weight.copy_(torch.from_numpy(inits["head.weight"]))
        head.bias.copy_(torch.from_numpy(inits["head.bias"]))

        # Now the eval function is the file's: measure each convolution's output on real crops
        # and move that scale into the BatchNorm, so training-mode normalisation keeps it.
        stats: dict[nn.Conv2d, tuple[torch.Tensor, torch.Tensor]] = {}

        def record(conv: nn.Conv2d, _inp: tuple, out: torch.Tensor) -> None:
            stats[conv] = (out.mean((0, 2, 3)), out.var((0, 2, 3), unbiased=False))

        hooks = [conv.register_forward_hook(record) for conv, _ in pairs]
        was_training = model.training
        model.eval()
        reference = model(calib)
        for h in hooks:
            h.remove()
        for conv, bn in pairs:
            mean, var = stats[conv]
            std = torch.sqrt(var + bn.eps)
            bn.weight.copy_(std)
            bn.bias.add_(mean)
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
        diff = float((model(calib) - reference).abs().max())
        model.train(was_training)
    return max(diff, _compare_with_file(model, path, calib))


def _compare_with_file(model: nn.Module, path: Path, calib: torch.Tensor) -> float:
    """Largest difference between the model's eval output and onnxruntime's on `calib` (the
    file takes pre-processed crops, as training feeds the network; a flip-averaged file is
    compared with the network run the same way)."""
    import onnxruntime as ort

    from training.model import FlipAveraged

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ours = sess.run(None, {sess.get_inputs()[0].name: calib.numpy().astype(np.float32)})[0]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        theirs = (FlipAveraged(model) if _flip_averaged(path) else model)(calib).numpy()
    model.train(was_training)
    return float(np.abs(ours - theirs).max())
