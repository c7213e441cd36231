"""Layer names and forward hooks that record them.

A layer is a named module whose output we record, as Brain-Score's forward hooks do: a block's
output is its residual stream (before any final norm), element 0 of a tuple output. The
"embedding" of a stack is the input of its first block (token + position embedding, after dropout).
"""

import re

import torch
from torch import nn

from brainalign.errors import ConfigError

BLOCK_LIST = re.compile(r"^(.*\.)?(h|layers|layer|block|blocks)$")


def block_stacks(model: nn.Module) -> list[tuple[str, nn.ModuleList]]:
    """The ModuleLists of transformer blocks, e.g. [('model.layers', ...)] or T5's encoder + decoder;
    [] for a model whose blocks go by other names (its layers are then given as module names)."""
    stacks = []
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and BLOCK_LIST.match(name) and len(module) > 0:
            if not any(name.startswith(prefix + ".") for prefix, _ in stacks):
                stacks.append((name, module))
    return stacks


def _embedding_name(prefix: str) -> str:
    stack = prefix.split(".")[0]
    return f"{stack}.embedding" if stack in ("encoder", "decoder") else "embedding"


def available_layers(model: nn.Module) -> dict[str, list[str]]:
    """Selector -> layer names: 'embedding', 'blocks', and every per-block submodule name."""
    out: dict[str, list[str]] = {"embedding": [], "blocks": []}
    for prefix, blocks in block_stacks(model):
        out["embedding"].append(_embedding_name(prefix))
        out["blocks"] += [f"{prefix}.{i}" for i in range(len(blocks))]
        for sub, _ in blocks[0].named_modules():
            if sub and "." not in sub:
                out.setdefault(sub, []).extend(f"{prefix}.{i}.{sub}" for i in range(len(blocks)))
    return out


def resolve_layers(model: nn.Module, selectors) -> list[str]:
    """Turn selectors ('embedding', 'blocks', 'post_attention_layernorm', or module names) into names."""
    avail = available_layers(model)
    modules = dict(model.named_modules())
    names: list[str] = []
    for sel in selectors:
        if avail.get(sel):
            names += avail[sel]
        elif sel in modules or sel.endswith(".embedding"):
            names.append(sel)
        elif not avail["blocks"]:
            raise ValueError(f"no transformer block list found in {type(model).__name__}: give its layers as "
                             f"module names (model.layers=[...]), not {sel!r}")
        else:
            choices = ", ".join(k for k in avail if k in ("embedding", "blocks") or "norm" in k or "attn" in k)
            raise ConfigError(f"model.layers: unknown layer {sel!r}; use a module name or one of: {choices}")
    prefixes = [p for p, _ in block_stacks(model)]

    def stack(name):  # keep each stack together: encoder layers before decoder layers
        return next((i for i, p in enumerate(prefixes) if name.startswith(p.split(".")[0])), 0)
    return sorted(dict.fromkeys(names), key=stack)


class LayerRecorder:
    """Records the outputs of the named layers during forward passes: `rec.outputs[name] -> [b, t, d]`."""

    def __init__(self, model: nn.Module, names: list[str]):
        self.outputs: dict[str, torch.Tensor] = {}
        self.select = None  # optional (rows, cols) index tensors: keep only outputs[name][rows, cols] -> [n, d]
        self.handles = []
        modules = dict(model.named_modules())
        first_blocks = {_embedding_name(p): blocks[0] for p, blocks in block_stacks(model)}
        for name in names:
            if name in first_blocks:
                self.handles.append(first_blocks[name].register_forward_pre_hook(self._pre(name), with_kwargs=True))
            else:
                self.handles.append(modules[name].register_forward_hook(self._post(name)))

    def _pre(self, name):
        def hook(module, args, kwargs):
            x = args[0] if args else kwargs["hidden_states"]
            self.outputs[name] = self._keep(x.detach())
        return hook

    def _post(self, name):
        def hook(module, args, output):
            x = output[0] if isinstance(output, (tuple, list)) else output
            self.outputs[name] = self._keep(x.detach())
        return hook

    def _keep(self, x):
        return x if self.select is None else x[self.select]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
