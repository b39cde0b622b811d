"""Generate the small safetensors checkpoints that tests/safetensors reads.

Run with the fixture venv (never a runtime dependency)::

    /work/venv-safetensors/bin/python tools/make_safetensors_fixtures.py [variant ...]

The venv holds torch 2.13.0 (CPU), optimum-quanto 0.2.7, hqq 0.2.8.post1, bitsandbytes 0.50.2,
compressed-tensors 0.20.0 (and 0.13.0 under ``/work/venv-safetensors/ct013`` for the legacy
3-bit packing, act-order g_idx, sparse-24-bitmask and marlin-24), mlx 0.32.4 (mlx[cpu]).

Two kinds of variant:

* ``producer``: the real library quantizes and serializes, and its own dequantization (with the
  stored scales promoted to float32, as the shared corpus manifest does) gives the reference
  sha256.
* ``packed``: no CPU producer exists here (GPTQ 2/3/8-bit and act-order, AWQ GEMV/GEMV_FAST,
  EXL2/Marlin/EETQ/SpQR detection...). This script implements the library's documented packing
  independently (``../shared/notes/format-safetensors.md``) from random integer codes and stores
  those codes with their scales/zeros in ``truth.npz``; the tests recompute the weight from them
  with plain numpy formulas.

Output: ``fixtures/foreign/safetensors/gen/<variant>/`` plus ``gen/manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "foreign" / "safetensors" / "gen"
CT013 = Path("/work/venv-safetensors/ct013")
SEED = 1234
K_PROJ, DOWN = "model.layers.0.self_attn.k_proj", "model.layers.0.mlp.down_proj"
#: [out, in] of the two linear modules every variant carries
SHAPES = {K_PROJ: (64, 256), DOWN: (128, 256)}


def sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


def weights(dtype: str = "float16") -> dict[str, Any]:
    """Deterministic float weights with a log-normal row/column spread, as torch tensors."""
    import torch

    rng = np.random.default_rng(SEED)
    out = {}
    for name, (o, i) in SHAPES.items():
        w = rng.standard_normal((o, i)) * 0.02
        w *= np.exp(rng.normal(0, 0.5, (o, 1))) * np.exp(rng.normal(0, 0.3, (1, i)))
        out[name] = torch.tensor(w, dtype=getattr(torch, dtype))
    return out


def norm() -> Any:
    import torch

    return torch.ones(256, dtype=torch.float16) + torch.arange(256, dtype=torch.float16) / 512


MANIFEST: dict[str, Any] = {}


def write(variant: str, tensors: dict[str, Any], *, config: dict | None = None,
          metadata: dict | None = None, refs: dict[str, np.ndarray] | None = None,
          source: str = "", expect: dict[str, Any] | None = None,
          side: dict[str, Any] | None = None, truth: dict[str, np.ndarray] | None = None,
          file_name: str = "model.safetensors") -> None:
    """Save one checkpoint directory and record its references in the manifest."""
    from safetensors.torch import save_file

    d = OUT / variant
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    contiguous = {k: v.contiguous() for k, v in tensors.items()}
    save_file(contiguous, str(d / file_name), metadata=metadata)
    if config is not None:
        (d / "config.json").write_text(json.dumps(config, indent=1, sort_keys=True))
    for name, obj in (side or {}).items():
        (d / name).write_text(json.dumps(obj, indent=1))
    if truth:
        np.savez_compressed(d / "truth.npz", **truth)
    MANIFEST[variant] = {
        "dir": variant,
        "source": source,
        "references": {k: {"sha256_f32": sha(v), "shape": list(v.shape)}
                       for k, v in (refs or {}).items()},
        "expect": expect or {},
    }
    print(f"{variant}: {sorted(contiguous)[:3]}... {len(contiguous)} tensors", flush=True)


def llama_config(quantization_config: dict | None = None, **extra: Any) -> dict:
    cfg: dict[str, Any] = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256,
        "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 1,
        "head_dim": 64, "vocab_size": 32, "num_hidden_layers": 1, "torch_dtype": "float16",
    }
    if quantization_config is not None:
        cfg["quantization_config"] = quantization_config
    cfg.update(extra)
    return cfg


# ============================================================================================
# producers
# ============================================================================================
def gen_quanto() -> None:
    import torch
    from optimum.quanto import freeze, qfloat8, qint2, qint4, qint8, quantization_map, quantize

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.k_proj = torch.nn.Linear(256, 64, bias=False)
            self.down_proj = torch.nn.Linear(256, 128, bias=True)

    for qtype, label in ((qint2, "qint2"), (qint4, "qint4"), (qint8, "qint8"),
                         (qfloat8, "qfloat8")):
        w = weights()
        model = Tiny().to(torch.float16)
        with torch.no_grad():
            model.k_proj.weight.copy_(w[K_PROJ])
            model.down_proj.weight.copy_(w[DOWN])
            model.down_proj.bias.copy_(torch.linspace(-1, 1, 128, dtype=torch.float16))
        quantize(model, weights=qtype)
        freeze(model)
        names = {"k_proj": K_PROJ, "down_proj": DOWN}
        tensors = {}
        for k, v in model.state_dict().items():
            mod, _, rest = k.partition(".")
            tensors[f"{names[mod]}.{rest}"] = v
        tensors["model.norm.weight"] = norm()
        refs = {}
        for mod, full in names.items():
            qw = getattr(model, mod).weight
            qw._scale = qw._scale.float()
            if hasattr(qw, "_shift") and qw._shift is not None:
                qw._shift = qw._shift.float()
            refs[full + ".weight"] = qw.dequantize().detach().float().numpy()
        qmap = {names[k]: v for k, v in quantization_map(model).items()}
        write(f"quanto-{label}", tensors, config=llama_config(), metadata={"format": "pt"},
              refs=refs, side={"quanto_qmap.json": qmap},
              source="optimum-quanto 0.2.7 quantize+freeze; reference = dequantize() with "
                     "_scale/_shift in float32",
              expect={"method": "quanto", "bits": {"qint2": 2, "qint4": 4}.get(label, 8)})


def gen_hqq() -> None:
    import torch
    from hqq.core.quantize import BaseQuantizeConfig, HQQLinear, Quantizer

    for nbits, gs, axis in ((1, 64, 1), (2, 64, 1), (3, 64, 1), (4, 32, 0), (8, 128, 1)):
        w = weights()
        tensors, refs = {}, {}
        for name, weight in w.items():
            lin = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False).half()
            with torch.no_grad():
                lin.weight.copy_(weight)
            cfg = BaseQuantizeConfig(nbits=nbits, group_size=gs, axis=axis)
            h = HQQLinear(lin, cfg, compute_dtype=torch.float16, device="cpu", del_orig=False)
            for k, v in h.state_dict().items():
                if isinstance(v, torch.Tensor):
                    tensors[f"{name}.{k}"] = v
            meta = dict(h.meta)
            meta["scale"], meta["zero"] = meta["scale"].float(), meta["zero"].float()
            meta["compute_dtype"] = torch.float32
            refs[name + ".weight"] = Quantizer.dequantize(h.W_q, meta).detach().float().numpy()
        tensors["model.norm.weight"] = norm()
        write(f"hqq-int{nbits}-g{gs}-axis{axis}", tensors, config=llama_config(), refs=refs,
              source="hqq 0.2.8.post1 HQQLinear(device='cpu').state_dict(); reference = "
                     "Quantizer.dequantize with scale/zero/compute_dtype float32",
              expect={"method": "hqq", "bits": nbits, "group_size": gs})


def gen_bnb() -> None:
    import bitsandbytes as bnb
    import torch
    from bitsandbytes.functional import QuantState, dequantize_4bit, int8_vectorwise_dequant

    for qtype, dq in (("fp4", False), ("fp4", True), ("nf4", True)):
        w = weights()
        tensors, refs = {}, {}
        for name, weight in w.items():
            lin = bnb.nn.Linear4bit(weight.shape[1], weight.shape[0], bias=False,
                                    compute_dtype=torch.float16, compress_statistics=dq,
                                    quant_type=qtype)
            lin.weight = bnb.nn.Params4bit(weight.clone(), requires_grad=False,
                                           quant_type=qtype, compress_statistics=dq)
            lin = lin.to("cpu")
            sd = {k: v.clone() for k, v in lin.state_dict().items()}
            for k, v in sd.items():
                tensors[f"{name}.{k}"] = v
            # reference from the serialized state, as a loader sees it
            qs = QuantState.from_dict({k[len("weight."):]: v for k, v in sd.items()
                                      if k.startswith("weight.")}, "cpu")
            qs.dtype = torch.float32
            refs[name + ".weight"] = dequantize_4bit(sd["weight"], qs).float().numpy()
        tensors["model.norm.weight"] = norm()
        qc = {"quant_method": "bitsandbytes", "load_in_4bit": True, "load_in_8bit": False,
              "bnb_4bit_quant_type": qtype, "bnb_4bit_use_double_quant": dq,
              "bnb_4bit_compute_dtype": "float16", "bnb_4bit_quant_storage": "uint8"}
        write(f"bnb-{qtype}" + ("-dq" if dq else ""), tensors, config=llama_config(qc),
              metadata={"format": "pt"}, refs=refs,
              source="bitsandbytes 0.50.2 Linear4bit on CPU; reference = dequantize_4bit "
                     "with quant_state.dtype float32",
              expect={"method": f"bnb-{qtype}", "bits": 4, "group_size": 64})
    w = weights()
    tensors, refs = {}, {}
    for name, weight in w.items():
        lin = bnb.nn.Linear8bitLt(weight.shape[1], weight.shape[0], bias=False,
                                  has_fp16_weights=False)
        lin.weight = bnb.nn.Int8Params(weight.clone(), requires_grad=False,
                                       has_fp16_weights=False)
        lin = lin.to("cpu")
        sd = lin.state_dict()
        for k, v in sd.items():
            tensors[f"{name}.{k}"] = v
        refs[name + ".weight"] = int8_vectorwise_dequant(sd["weight"], sd["SCB"]).float().numpy()
    tensors["model.norm.weight"] = norm()
    qc = {"quant_method": "bitsandbytes", "load_in_4bit": False, "load_in_8bit": True,
          "llm_int8_threshold": 6.0}
    write("bnb-int8", tensors, config=llama_config(qc), metadata={"format": "pt"}, refs=refs,
          source="bitsandbytes 0.50.2 Linear8bitLt on CPU; reference = int8_vectorwise_dequant",
          expect={"method": "bnb-int8", "bits": 8, "group_size": -1})


def _ct_qparams(w: Any, args: Any) -> tuple[Any, Any]:
    import torch
    from compressed_tensors.quantization.utils import calculate_qparams

    wf = w.float()
    if args.strategy == "group" or args.strategy == "tensor_group":
        g = wf.reshape(w.shape[0], -1, args.group_size)
        mn, mx = g.amin(-1), g.amax(-1)
    elif args.strategy == "channel":
        mn, mx = wf.amin(1, keepdim=True), wf.amax(1, keepdim=True)
    elif args.strategy == "block":
        bo, bi = args.block_structure
        o, i = w.shape
        g = wf.reshape(o // bo, bo, i // bi, bi).transpose(1, 2)
        mn, mx = g.amin((-1, -2)), g.amax((-1, -2))
    else:
        mn, mx = wf.amin().reshape(1), wf.amax().reshape(1)
    mn, mx = torch.minimum(mn, torch.zeros_like(mn)), torch.maximum(mx, torch.zeros_like(mx))
    return calculate_qparams(mn, mx, args)


def gen_ct() -> None:
    import compressed_tensors
    import torch
    from compressed_tensors.compressors.base import BaseCompressor
    from compressed_tensors.quantization import (
        QuantizationArgs,
        QuantizationConfig,
        QuantizationScheme,
    )

    variants = [
        ("ct-pack-w2-g64-sym", "pack-quantized",
         {"num_bits": 2, "type": "int", "symmetric": True, "strategy": "group", "group_size": 64}),
        ("ct-pack-w3-g64-asym", "pack-quantized",
         {"num_bits": 3, "type": "int", "symmetric": False, "strategy": "group", "group_size": 64}),
        ("ct-pack-w4-channel-asym", "pack-quantized",
         {"num_bits": 4, "type": "int", "symmetric": False, "strategy": "channel"}),
        ("ct-pack-w8-g128-sym", "pack-quantized",
         {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "group", "group_size": 128}),
        ("ct-int8-channel", "int-quantized",
         {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "channel"}),
        ("ct-naive-int8-tensor", "naive-quantized",
         {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "tensor"}),
        ("ct-fp8-tensor", "float-quantized",
         {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "tensor"}),
        ("ct-fp8-block", "float-quantized",
         {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "block",
              "block_structure": [32, 128]}),
        ("ct-nvfp4", "nvfp4-pack-quantized",
         {"num_bits": 4, "type": "float", "symmetric": True, "strategy": "tensor_group",
              "group_size": 16}),
        ("ct-mxfp4", "mxfp4-pack-quantized",
         {"num_bits": 4, "type": "float", "symmetric": True, "strategy": "group", "group_size": 32,
              "scale_dtype": torch.uint8, "zp_dtype": torch.uint8}),
    ]
    for variant, fmt, kw in variants:
        try:
            args = QuantizationArgs(**kw)
        except Exception as exc:
            print(f"{variant}: skipped ({exc})")
            continue
        scheme = QuantizationScheme(targets=["Linear"], weights=args)
        comp = BaseCompressor.get_value_from_registry(fmt)
        w = weights()
        tensors, refs = {}, {}
        for name, weight in w.items():
            sd: dict[str, Any] = {"weight": weight}
            if fmt == "nvfp4-pack-quantized":
                from compressed_tensors.quantization.utils import generate_gparam

                gscale = generate_gparam(weight.float().amin(), weight.float().amax())
                sd["weight_global_scale"] = gscale
                from compressed_tensors.quantization.utils import calculate_qparams

                g = weight.float().reshape(weight.shape[0], -1, 16)
                scale, zp = calculate_qparams(g.amin(-1), g.amax(-1), args,
                                              global_scale=gscale)
            elif fmt == "mxfp4-pack-quantized":
                from compressed_tensors.quantization.utils import calculate_qparams

                g = weight.float().reshape(weight.shape[0], -1, 32)
                scale, zp = calculate_qparams(g.amin(-1), g.amax(-1), args)
            else:
                scale, zp = _ct_qparams(weight, args)
            sd["weight_scale"] = scale if fmt.startswith(("nvfp4", "mxfp4")) else scale.half()
            if not args.symmetric:
                sd["weight_zero_point"] = zp
            out = comp.compress(sd, scheme)
            for k, v in out.items():
                tensors[f"{name}.{k}"] = v
            dec_in = dict(out)
            if dec_in["weight_scale"].dtype in (torch.float16, torch.bfloat16):
                dec_in["weight_scale"] = dec_in["weight_scale"].float()
            dec = comp.decompress(dec_in, scheme)
            refs[name + ".weight"] = dec["weight"].float().numpy()
        tensors["model.norm.weight"] = norm()
        qc = QuantizationConfig(config_groups={"group_0": scheme}, format=fmt,
                                quantization_status="compressed").model_dump()
        qc["version"] = compressed_tensors.__version__
        qc = json.loads(json.dumps(qc, default=str))
        write(variant, tensors, config=llama_config(qc), metadata={"format": "pt"}, refs=refs,
              source=f"compressed-tensors {compressed_tensors.__version__} "
                     f"{comp.__name__}.compress; reference = its decompress (scales float32)"
                     + ("; nvfp4/mxfp4 decompress ends with a cast to bfloat16"
                        if "fp4" in fmt else ""),
              expect={"method": "compressed-tensors", "bits": kw["num_bits"],
                      "format": fmt})


def gen_ct013() -> None:
    """Legacy compressed-tensors 0.13: 3-bit legacy packing, g_idx, sparse-24, marlin-24."""
    import compressed_tensors
    import torch
    from compressed_tensors.compressors import (
        Marlin24Compressor,
        PackedQuantizationCompressor,
        Sparse24BitMaskCompressor,
    )
    from compressed_tensors.compressors.quantized_compressors.naive_quantized import (
        FloatQuantizationCompressor,
    )
    from compressed_tensors.quantization import (
        QuantizationArgs,
        QuantizationConfig,
        QuantizationScheme,
    )
    from compressed_tensors.quantization.lifecycle.forward import quantize

    assert compressed_tensors.__version__.startswith("0.13"), compressed_tensors.__version__
    version = compressed_tensors.__version__

    def config(scheme: Any, fmt: str, sparsity: dict | None = None) -> dict:
        qc = QuantizationConfig(config_groups={"group_0": scheme}, format=fmt,
                                quantization_status="compressed").model_dump()
        qc["version"] = version
        if sparsity is not None:
            qc["sparsity_config"] = sparsity
        return json.loads(json.dumps(qc, default=str))

    # 3-bit legacy packing (10 codes per word) and act-order group g_idx
    for variant, kw, actorder in (
            ("ct013-pack-w3-g64-legacy", {"num_bits": 3, "type": "int", "symmetric": True,
                                              "strategy": "group", "group_size": 64}, False),
            ("ct013-pack-w4-g64-asym-actorder", {"num_bits": 4, "type": "int", "symmetric": False,
                                                     "strategy": "group", "group_size": 64}, True)):
        args = QuantizationArgs(**kw)
        scheme = QuantizationScheme(targets=["Linear"], weights=args)
        comp = PackedQuantizationCompressor(config=None)
        tensors, refs = {}, {}
        rng = np.random.default_rng(SEED + 7)
        for name, weight in weights().items():
            scale, zp = _ct_qparams(weight, args)
            g_idx = None
            if actorder:
                perm = torch.tensor(rng.permutation(weight.shape[1]))
                g_idx = (torch.arange(weight.shape[1]) // args.group_size)[perm.argsort()]
                g_idx = g_idx.to(torch.int32)
                # scales per group computed over the permuted columns
                wp = weight[:, perm]
                scale, zp = _ct_qparams(wp, args)
            out = comp.compress_weight(weight, scale.half(), args,
                                       zero_point=None if args.symmetric else zp,
                                       g_idx=g_idx)
            out["weight_scale"] = scale.half()
            if g_idx is not None:
                out["weight_g_idx"] = g_idx
            for k, v in out.items():
                tensors[f"{name}.{k}"] = v
            dec_in = {**out, "weight_scale": scale.half().float()}
            refs[name + ".weight"] = comp.decompress_weight(dec_in, args).float().numpy()
        tensors["model.norm.weight"] = norm()
        write(variant, tensors, config=llama_config(config(scheme, "pack-quantized")),
              metadata={"format": "pt"}, refs=refs,
              source=f"compressed-tensors {version} PackedQuantizationCompressor.compress_weight"
                     "; reference = decompress_weight (scales float32)",
              expect={"method": "compressed-tensors", "bits": kw["num_bits"]})

    # sparse-24-bitmask: an FP8 per-channel quantized module and an unquantized F16 module
    args = QuantizationArgs(num_bits=8, type="float", symmetric=True, strategy="channel")
    scheme = QuantizationScheme(targets=["re:.*k_proj$"], weights=args)
    fq = FloatQuantizationCompressor(config=None)
    from compressed_tensors.config import Sparse24BitMaskConfig

    sparsity_cfg = Sparse24BitMaskConfig(global_sparsity=0.5)
    sp = Sparse24BitMaskCompressor(config=sparsity_cfg)
    tensors, refs = {}, {}
    for name, weight in weights().items():
        w4 = weight.float().reshape(-1, 4)
        keep = w4.abs().argsort(-1)[:, 2:]
        mask = torch.zeros_like(w4, dtype=torch.bool).scatter_(1, keep, True)
        sparse_w = (w4 * mask).reshape(weight.shape).half()
        if name == K_PROJ:
            scale, _ = _ct_qparams(sparse_w, args)
            q = fq.compress_weight(sparse_w, scale.half(), args)
            stored = sp.compress_weight(name + ".weight", q["weight"])
            for k, v in stored.items():
                tensors[k] = v
            tensors[name + ".weight_scale"] = scale.half()
            dense = sp.decompress_weight({k.rsplit(".", 1)[1]: v for k, v in stored.items()})
            refs[name + ".weight"] = fq.decompress_weight(
                {"weight": dense, "weight_scale": scale.half().float()}, args).float().numpy()
        else:
            stored = sp.compress_weight(name + ".weight", sparse_w)
            for k, v in stored.items():
                tensors[k] = v
            dense = sp.decompress_weight({k.rsplit(".", 1)[1]: v for k, v in stored.items()})
            refs[name + ".weight"] = dense.float().numpy()
    tensors["model.norm.weight"] = norm()
    sparsity = json.loads(json.dumps(sparsity_cfg.model_dump(), default=str))
    write("ct013-sparse24-fp8", tensors,
          config=llama_config(config(scheme, "float-quantized", sparsity)),
          metadata={"format": "pt"}, refs=refs,
          source=f"compressed-tensors {version} FloatQuantizationCompressor + "
                 "Sparse24BitMaskCompressor; reference = their decompress (scales float32)",
          expect={"method": "compressed-tensors", "format": "sparse-24-bitmask"})

    # marlin-24: 4-bit symmetric, group 128 (k_proj) and channel (down_proj)
    tensors, refs, names_to_scheme, state = {}, {}, {}, {}
    schemes = {}
    up = "model.layers.0.mlp.up_proj"  # in = 512: group 128 < in/2 exercises the scale permutation
    rng = np.random.default_rng(SEED + 9)
    modules = dict(weights(), **{up: torch.tensor(rng.standard_normal((64, 512)) * 0.02,
                                                  dtype=torch.float16)})
    for name, weight in modules.items():
        kw: dict[str, Any] = {"num_bits": 4, "type": "int", "symmetric": True}
        kw.update({"strategy": "channel"} if name == DOWN else
                  {"strategy": "group", "group_size": 128})
        args = QuantizationArgs(**kw)
        sch = QuantizationScheme(targets=[name], weights=args)
        schemes[name] = sch
        w4 = weight.float().reshape(-1, 4)
        keep = w4.abs().argsort(-1)[:, 2:]
        mask = torch.zeros_like(w4, dtype=torch.bool).scatter_(1, keep, True)
        sparse_w = (w4 * mask).reshape(weight.shape).half()
        scale, _ = _ct_qparams(sparse_w, args)
        state[name + ".weight"] = sparse_w
        state[name + ".weight_scale"] = scale.half()
        names_to_scheme[name] = sch
        q = quantize(x=sparse_w, scale=scale.half(), zero_point=None, args=args)
        cols = torch.arange(weight.shape[1]) // (args.group_size or weight.shape[1])
        codes = q.to(torch.int8).float()  # ints: the file cannot hold -0.0
        refs[name + ".weight"] = (codes * scale.half().float()[:, cols]).numpy()
    state["model.norm.weight"] = norm()
    comp = Marlin24Compressor()
    tensors = comp.compress(state, names_to_scheme)
    qc = QuantizationConfig(config_groups={f"group_{i}": s for i, s in
                                           enumerate(schemes.values())},
                            format="marlin-24", quantization_status="compressed").model_dump()
    qc["version"] = version
    qc = json.loads(json.dumps(qc, default=str))
    write("ct013-marlin24", tensors, config=llama_config(qc), metadata={"format": "pt"},
          refs=refs,
          source=f"compressed-tensors {version} Marlin24Compressor.compress; reference = "
                 "compressed-tensors quantize() codes x float32 scale (no decompressor exists)",
          expect={"method": "compressed-tensors", "format": "marlin-24", "bits": 4})


def gen_mlx() -> None:
    import mlx.core as mx

    w = {k: v.float().numpy() for k, v in weights().items()}
    cases = [("mlx-affine-int2-g32", {"bits": 2, "group_size": 32, "mode": "affine"}, None),
             ("mlx-affine-int3-g64", {"bits": 3, "group_size": 64, "mode": "affine"}, None),
             ("mlx-affine-int6-g64", {"bits": 6, "group_size": 64, "mode": "affine"}, None),
             ("mlx-affine-mixed", {"bits": 8, "group_size": 128, "mode": "affine"},
              {DOWN: {"bits": 5, "group_size": 32}}),
             ("mlx-mxfp4", {"bits": 4, "group_size": 32, "mode": "mxfp4"}, None),
             ("mlx-nvfp4", {"bits": 4, "group_size": 16, "mode": "nvfp4"}, None),
             ("mlx-mxfp8", {"bits": 8, "group_size": 32, "mode": "mxfp8"}, None)]
    for variant, q, overrides in cases:
        arrays, refs = {}, {}
        for name, weight in w.items():
            s = dict(q, **(overrides or {}).get(name, {}))
            arr = mx.array(weight).astype(mx.float16)
            if s["mode"] == "affine":
                qw, sc, bi = mx.quantize(arr, group_size=s["group_size"], bits=s["bits"])
                arrays.update({name + ".weight": qw, name + ".scales": sc,
                               name + ".biases": bi})
                ref = mx.dequantize(qw, sc.astype(mx.float32), bi.astype(mx.float32),
                                    group_size=s["group_size"], bits=s["bits"])
            else:
                qw, sc = mx.quantize(arr, mode=s["mode"])
                arrays.update({name + ".weight": qw, name + ".scales": sc})
                ref = mx.dequantize(qw, sc, mode=s["mode"], dtype=mx.float32)
            refs[name + ".weight"] = np.array(ref.astype(mx.float32))
        arrays["model.norm.weight"] = mx.array(norm().numpy())
        d = OUT / variant
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        mx.save_safetensors(str(d / "model.safetensors"), arrays, metadata={"format": "mlx"})
        quant = dict(q)
        for mod, o in (overrides or {}).items():
            quant[mod] = o
        cfg = llama_config(quant, quantization=quant)
        (d / "config.json").write_text(json.dumps(cfg, indent=1))
        MANIFEST[variant] = {"dir": variant,
                             "source": "mlx 0.32.4 mx.quantize + mx.save_safetensors; reference"
                                       " = mx.dequantize in float32",
                             "references": {k: {"sha256_f32": sha(v), "shape": list(v.shape)}
                                            for k, v in refs.items()},
                             "expect": {"method": "mlx", "bits": q["bits"]}}
        print(f"{variant}: {len(arrays)} tensors", flush=True)


# ============================================================================================
# independent packing (no CPU producer here)
# ============================================================================================
def _lsb_pack(codes: np.ndarray, bits: int) -> np.ndarray:
    """Pack codes along the last axis into a continuous LSB-first uint32 stream."""
    rows, n = codes.reshape(-1, codes.shape[-1]).shape
    words = -(-n * bits // 32)
    out = np.zeros((rows, words), dtype=np.uint64)
    flat = codes.reshape(rows, n).astype(np.uint64)
    for k in range(n):
        pos = k * bits
        w, o = divmod(pos, 32)
        out[:, w] |= (flat[:, k] << np.uint64(o)) & np.uint64(0xFFFFFFFF)
        if o + bits > 32:
            out[:, w + 1] |= flat[:, k] >> np.uint64(32 - o)
    return out.astype(np.uint32).reshape(*codes.shape[:-1], words)


def _to_torch(a: np.ndarray, dtype: str | None = None) -> Any:
    import torch

    t = torch.from_numpy(np.ascontiguousarray(a))
    return t if dtype is None else t.view(getattr(torch, dtype))


def gen_gptq() -> None:
    rng = np.random.default_rng(SEED + 1)
    cases = [  # variant, bits, group size, act order, sym, checkpoint format, with config
        ("gptq-int2-g64", 2, 64, False, True, "gptq", True),
        ("gptq-int3-g128", 3, 128, False, False, "gptq", True),
        ("gptq-int8-perchannel", 8, -1, False, True, "gptq", True),
        ("gptq-int4-g64-actorder", 4, 64, True, False, "gptq", True),
        ("gptq-int4-g128-v2", 4, 128, False, False, "gptq_v2", True),
        ("gptq-int4-g128-noconfig", 4, 128, False, True, "gptq", False),
        ("autogptq-int4-g128", 4, 128, False, False, "gptq", "auto-gptq"),
    ]
    for variant, bits, gs, act, sym, fmt, with_config in cases:
        tensors, truth = {}, {}
        for name, (out, inn) in SHAPES.items():
            groups = 1 if gs == -1 else inn // gs
            codes = rng.integers(0, 1 << bits, (inn, out))
            zeros = np.full((groups, out), 1 << (bits - 1)) if sym else \
                rng.integers(0, 1 << bits, (groups, out))
            scales = (rng.random((groups, out)) * 0.02 + 0.001).astype(np.float16)
            g_idx = np.arange(inn) // (inn if gs == -1 else gs)
            if act:
                g_idx = g_idx[rng.permutation(inn)]
            stored_z = (zeros - 1) & ((1 << bits) - 1) if fmt == "gptq" else zeros
            qweight = _lsb_pack(codes.T, bits).T  # stream down the input rows per column
            qzeros = _lsb_pack(stored_z, bits)
            tensors[name + ".qweight"] = _to_torch(qweight.view(np.int32))
            tensors[name + ".qzeros"] = _to_torch(qzeros.view(np.int32))
            tensors[name + ".scales"] = _to_torch(scales)
            tensors[name + ".g_idx"] = _to_torch(g_idx.astype(np.int32))
            truth[name + ".codes"] = codes.astype(np.int64)
            truth[name + ".zeros"] = zeros.astype(np.int64)
            truth[name + ".scales"] = scales.astype(np.float32)
            truth[name + ".g_idx"] = g_idx.astype(np.int64)
        if with_config == "auto-gptq":
            tensors[DOWN + ".bias"] = _to_torch(np.zeros(SHAPES[DOWN][0], np.float16))
        tensors["model.norm.weight"] = norm()
        qc = {"quant_method": "gptq", "bits": bits, "group_size": gs, "desc_act": act,
              "sym": sym, "checkpoint_format": fmt, "format": fmt}
        side, meta, config = {}, {"format": "pt"}, None
        if with_config is True:
            config = llama_config(qc)
        elif with_config == "auto-gptq":
            side = {"quantize_config.json": {"bits": bits, "group_size": gs, "desc_act": act,
                                             "sym": sym, "damp_percent": 0.01,
                                             "static_groups": False, "true_sequential": True,
                                             "model_name_or_path": None,
                                             "model_file_base_name": None,
                                             "is_marlin_format": False}}
            meta = {"format": "pt", "auto_gptq_version": "0.7.1", "gptq_bits": str(bits),
                    "gptq_group_size": str(gs), "gptq_desc_act": str(act),
                    "gptq_damp_percent": "0.01", "gptq_is_marlin_format": "False"}
        write(variant, tensors, config=config, metadata=meta, side=side, truth=truth,
              file_name="gptq_model-4bit-128g.safetensors" if with_config == "auto-gptq"
              else "model.safetensors",
              source="independent packing: continuous LSB-first stream down the input rows, "
                     f"qzeros {'zero - 1 (v1)' if fmt == 'gptq' else 'zero (v2)'}",
              expect={"method": "gptq", "bits": bits, "group_size": gs, "formula": "gptq"})


def gen_awq() -> None:
    rng = np.random.default_rng(SEED + 2)
    order = [0, 2, 4, 6, 1, 3, 5, 7]
    for version in ("gemm", "gemv", "gemv_fast"):
        gs = 64
        tensors, truth = {}, {}
        for name, (out, inn) in SHAPES.items():
            groups = inn // gs
            codes = rng.integers(0, 16, (out, inn))
            zeros = rng.integers(0, 16, (out, groups))
            scales = (rng.random((out, groups)) * 0.02 + 0.001).astype(np.float16)
            truth[name + ".codes"] = codes
            truth[name + ".zeros"] = zeros
            truth[name + ".scales"] = scales.astype(np.float32)
            if version == "gemm":
                qw = np.zeros((inn, out // 8), dtype=np.uint32)
                qz = np.zeros((groups, out // 8), dtype=np.uint32)
                for c in range(out // 8):
                    for k in range(8):
                        qw[:, c] |= codes.T[:, 8 * c + order[k]].astype(np.uint32) << (4 * k)
                        qz[:, c] |= zeros.T[:, 8 * c + order[k]].astype(np.uint32) << (4 * k)
                tensors[name + ".qweight"] = _to_torch(qw.view(np.int32))
                tensors[name + ".qzeros"] = _to_torch(qz.view(np.int32))
                tensors[name + ".scales"] = _to_torch(np.ascontiguousarray(scales.T))
            elif version == "gemv":
                width = -(-groups // 8)
                qw = _lsb_pack(codes, 4)
                zpad = np.zeros((out, width * 8), dtype=np.int64)
                zpad[:, :groups] = zeros
                qz = _lsb_pack(zpad, 4)
                spad = np.zeros((out, width * 8), dtype=np.float16)
                spad[:, :groups] = scales
                tensors[name + ".qweight"] = _to_torch(qw.view(np.int32))
                tensors[name + ".qzeros"] = _to_torch(qz.view(np.int32))
                tensors[name + ".scales"] = _to_torch(spad)
            else:
                n, k = out, inn
                p = codes.reshape(n, k // 32, 4, 4, 2).transpose(0, 1, 3, 2, 4)
                p = p.reshape(n, k // 32, 32).reshape(n, k // 32, 4, 8)
                p = p.reshape(n, k // 32, 4, 4, 2).transpose(0, 1, 2, 4, 3).reshape(n, k)
                p = p.reshape(n // 4, 4, k // 64, 64).transpose(0, 2, 1, 3)
                p = p.reshape(n // 4, k // 64, 64, 4)
                packed = (p[..., 0] | (p[..., 1] << 4) | (p[..., 2] << 8) | (p[..., 3] << 12))
                packed = packed.reshape(n // 4, k).astype(np.uint16).view(np.int16)
                width = -(-groups // 8) * 8 * (2 if gs == 64 else 1)
                spad = np.zeros((width, out), dtype=np.float16)
                spad[:groups] = scales.T
                zf = np.zeros((width, out), dtype=np.float16)
                zf[:groups] = (-(scales.astype(np.float32) * zeros)).astype(np.float16).T
                truth[name + ".zeros_f16"] = zf[:groups].T.astype(np.float32)
                tensors[name + ".qweight"] = _to_torch(packed)
                tensors[name + ".scales"] = _to_torch(spad)
                tensors[name + ".qzeros"] = _to_torch(zf)
        tensors["model.norm.weight"] = norm()
        qc = {"quant_method": "awq", "bits": 4, "group_size": gs, "zero_point": True,
              "version": version, "modules_to_not_convert": None}
        write(f"awq-{version}-int4-g{gs}", tensors, config=llama_config(qc),
              metadata={"format": "pt"}, truth=truth,
              source="independent packing of AutoAWQ 0.2.9's layouts (WQLinear_GEMM/GEMV/"
                     "GEMVFast)",
              expect={"method": "awq", "bits": 4, "group_size": gs,
                      "formula": f"awq-{version}"})


def gen_detect_only() -> None:
    """EXL2, GPTQ Marlin, EETQ, SpQR, fbgemm_fp8 and MXFP8: names and shapes only."""
    rng = np.random.default_rng(SEED + 3)
    out, inn = SHAPES[K_PROJ]
    groups = inn // 32
    exl2 = {K_PROJ + ".q_weight": rng.integers(-2**31, 2**31, (inn * 4 // 32 + 2, out)),
            K_PROJ + ".q_scale": rng.integers(0, 2**31, (groups, out // 8)),
            K_PROJ + ".q_scale_max": rng.random(groups).astype(np.float16),
            K_PROJ + ".q_groups": np.array([4, 0] * groups, dtype=np.int16),
            K_PROJ + ".q_invperm": rng.permutation(inn).astype(np.int32)}
    exl2 = {k: _to_torch(v.astype(np.int32) if v.dtype == np.int64 else v)
            for k, v in exl2.items()}
    exl2["model.norm.weight"] = norm()
    write("exl2-detect", exl2, config=llama_config({"quant_method": "exl2", "version": "0.3.2",
                                                    "bits": 4.1, "head_bits": 6}),
          source="synthetic names/shapes of ExLlamaV2 modules (detection only)",
          expect={"method": "exl2"})
    marlin = {K_PROJ + ".B": _to_torch(rng.integers(-2**31, 2**31, (inn // 16, out * 2))
                                       .astype(np.int32)),
              K_PROJ + ".s": _to_torch(rng.random((inn // 128, out)).astype(np.float16)),
              "model.norm.weight": norm()}
    write("gptq-marlin-detect", marlin,
          side={"quantize_config.json": {"bits": 4, "group_size": 128, "desc_act": False,
                                         "sym": True, "is_marlin_format": True}},
          metadata={"format": "pt", "gptq_is_marlin_format": "True"},
          source="synthetic names/shapes of auto-gptq Marlin modules (detection only)",
          expect={"method": "marlin"})
    eetq = {K_PROJ + ".weight": _to_torch(rng.integers(-128, 128, (inn, out)).astype(np.int8)),
            K_PROJ + ".weight_scales": _to_torch(rng.random(out).astype(np.float16)),
            "model.norm.weight": norm()}
    write("eetq-detect", eetq, config=llama_config({"quant_method": "eetq", "weights": "int8"}),
          source="synthetic names/shapes of EETQ modules (detection only)",
          expect={"method": "eetq"})
    spqr = {K_PROJ + ".dense_weights": _to_torch(rng.integers(0, 2**62, (out // 16 * inn // 16
                                                                         * 16,))),
            K_PROJ + ".row_offsets": _to_torch(np.arange(out + 1, dtype=np.int32)),
            K_PROJ + ".col_vals": _to_torch(rng.integers(0, 2**31, (out,)).astype(np.int32)),
            K_PROJ + ".in_perm": _to_torch(rng.integers(0, 2**31, (inn // 2,)).astype(np.int32)),
            "model.norm.weight": norm()}
    write("spqr-detect", spqr, config=llama_config({"quant_method": "spqr", "bits": 3,
                                                    "beta1": 16, "beta2": 16}),
          source="synthetic names/shapes of SpQR modules (detection only)",
          expect={"method": "spqr"})
    # fbgemm_fp8 and transformers MXFP8: decodable, independent formula
    import torch

    w = weights()[K_PROJ].float().numpy()
    scale = (np.abs(w).max(1, keepdims=True) / 448).astype(np.float32)
    q = torch.from_numpy(w / scale).to(torch.float8_e4m3fn)
    write("fbgemm-fp8", {K_PROJ + ".weight": q, K_PROJ + ".weight_scale": _to_torch(scale),
                         "model.norm.weight": norm()},
          config=llama_config({"quant_method": "fbgemm_fp8", "activation_scale_ub": 1200.0}),
          truth={K_PROJ + ".values": q.float().numpy(), K_PROJ + ".scale": scale},
          source="fbgemm_fp8 layout (weight E4M3 + per-row float32 weight_scale)",
          expect={"method": "fp8", "formula": "scaled"})
    e = np.floor(np.log2(np.abs(w.reshape(out, -1, 32)).max(-1) / 448 + 1e-30)) + 1
    e8 = np.clip(e + 127, 0, 254).astype(np.uint8)
    sc = np.repeat(np.exp2(e8.astype(np.float32) - 127), 32, axis=1)
    q8 = torch.from_numpy((w / sc).astype(np.float32)).to(torch.float8_e4m3fn)
    write("hf-mxfp8", {K_PROJ + ".weight": q8, K_PROJ + ".weight_scale_inv": _to_torch(e8),
                       "model.norm.weight": norm()},
          config=llama_config({"quant_method": "fp8", "weight_block_size": [1, 32],
                               "activation_scheme": "dynamic"}),
          truth={K_PROJ + ".values": q8.float().numpy(),
                 K_PROJ + ".scale": np.exp2(e8.astype(np.float32) - 127)},
          source="transformers FP8 names with E8M0 [1, 32] block scales (MXFP8)",
          expect={"method": "fp8", "formula": "block-e8m0"})


def gen_sharded() -> None:
    """A GPTQ checkpoint split in two shards with an index, from the gptq-int3 variant."""
    from safetensors.numpy import load_file, save_file

    src = OUT / "gptq-int3-g128"
    data = load_file(str(src / "model.safetensors"))
    d = OUT / "sharded-gptq"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    names = sorted(data)
    first = {k: v for k, v in data.items() if K_PROJ in k}
    second = {k: v for k, v in data.items() if k not in first}
    save_file(first, str(d / "model-00001-of-00002.safetensors"), metadata={"format": "pt"})
    save_file(second, str(d / "model-00002-of-00002.safetensors"), metadata={"format": "pt"})
    index = {"metadata": {"total_size": int(sum(v.nbytes for v in data.values()))},
             "weight_map": {k: "model-00001-of-00002.safetensors" if k in first
                            else "model-00002-of-00002.safetensors" for k in names}}
    (d / "model.safetensors.index.json").write_text(json.dumps(index, indent=1))
    shutil.copy(src / "config.json", d / "config.json")
    shutil.copy(src / "truth.npz", d / "truth.npz")
    MANIFEST["sharded-gptq"] = dict(MANIFEST.get("gptq-int3-g128", {}), dir="sharded-gptq",
                                    source="gptq-int3-g128 split into two shards + index")
    print("sharded-gptq: 2 shards", flush=True)


SECTIONS = {
    "quanto": gen_quanto, "hqq": gen_hqq, "bnb": gen_bnb, "ct": gen_ct, "mlx": gen_mlx,
    "gptq": gen_gptq, "awq": gen_awq, "detect": gen_detect_only, "sharded": gen_sharded,
    "ct013": gen_ct013,
}


def main(argv: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    manifest_path = OUT / "manifest.json"
    if manifest_path.exists():
        MANIFEST.update(json.loads(manifest_path.read_text())["variants"])
    wanted = argv or list(SECTIONS)
    for section in wanted:
        if section == "ct013" and "compressed_tensors" not in sys.modules and \
                os.environ.get("QF_CT013") != "1":
            env = dict(os.environ, PYTHONPATH=str(CT013), QF_CT013="1")
            subprocess.run([sys.executable, __file__, "ct013"], check=True, env=env)
            MANIFEST.update(json.loads(manifest_path.read_text())["variants"])
            continue
        SECTIONS[section]()
        manifest_path.write_text(json.dumps({"schema": "qformat-fixtures/safetensors/1",
                                             "seed": SEED, "variants": MANIFEST},
                                            indent=1, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
