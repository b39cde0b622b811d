"""Evidence about a checkpoint's quantization, gathered from side files and metadata.

Evidence is ranked config > safetensors ``__metadata__`` > tensor names > shapes: where two
sources disagree the higher-ranked one decides, and every decision is written down as a short
string that ``qformat inspect`` lists. Configs are inert data: ``auto_map`` and similar
pointers to custom code are flagged, never followed.
"""

from __future__ import annotations

from typing import Any

from .common import CONFIG, METADATA

__all__ = ["Evidence"]

_CODE_KEYS = ("auto_map", "custom_pipelines")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Evidence:
    """Side-file configs, shard metadata, and the ranked evidence strings found so far."""

    def __init__(self, sidecars: dict[str, Any], st_metadata: dict[str, str] | None) -> None:
        self.items: list[tuple[int, str]] = []
        self.warnings: list[str] = []
        cfg = sidecars.get("config.json")
        self.config: dict[str, Any] = cfg if isinstance(cfg, dict) else {}
        self.qconfig: dict[str, Any] = {}
        self.qsource = ""
        qc = self.config.get("quantization_config")
        if isinstance(qc, dict):
            self.qconfig, self.qsource = qc, "config.json quantization_config"
        elif qc is not None:
            self.warnings.append("config.json quantization_config is not an object: ignored")
        for name in ("quantize_config.json", "quant_config.json"):
            side = sidecars.get(name)
            if isinstance(side, dict) and not self.qconfig:
                self.qconfig, self.qsource = side, name
        mlx = self.config.get("quantization")
        self.mlx: dict[str, Any] = mlx if isinstance(mlx, dict) else {}
        qmap = sidecars.get("quanto_qmap.json")
        self.qmap: dict[str, Any] = qmap if isinstance(qmap, dict) else {}
        self.st_metadata: dict[str, str] = dict(st_metadata or {})
        method = self.qconfig.get("quant_method")
        self.method: str | None = method.strip().lower() if isinstance(method, str) else None
        if self.method is None and self.qsource == "quantize_config.json" \
                and "bits" in self.qconfig:
            self.method = "gptq"  # auto-gptq's quantize_config.json before quant_method existed
        elif self.method is None and self.qsource == "quant_config.json" \
                and "w_bit" in self.qconfig:
            self.method = "awq"  # AutoAWQ's early quant_config.json (w_bit, q_group_size)
        self._collect()

    # -- evidence strings --------------------------------------------------------------------
    def add(self, rank: int, text: str) -> None:
        if (rank, text) not in self.items:
            self.items.append((rank, text))

    def ordered(self) -> list[str]:
        """Evidence strings, config first, then metadata, names, shapes (stable within)."""
        return [t for _, t in sorted(self.items, key=lambda item: item[0])]

    def _collect(self) -> None:
        for key in _CODE_KEYS:
            if key in self.config:
                self.warnings.append(f"config.json has {key!r} naming custom code: flagged, "
                                     "not followed (qformat never runs model code)")
        if self.qconfig:
            keys = ("quant_method", "bits", "group_size", "version", "format",
                    "checkpoint_format", "sym", "desc_act", "zero_point", "num_codebooks",
                    "nbits_per_codebook", "in_group_size", "weight_block_size",
                    "bnb_4bit_quant_type", "load_in_4bit", "load_in_8bit",
                    "bnb_4bit_use_double_quant", "is_marlin_format")
            shown = ", ".join(f"{k}={_short(self.qconfig[k])}" for k in keys
                              if k in self.qconfig)
            self.add(CONFIG, f"{self.qsource}: {shown or 'present'}")
        if self.mlx:
            shown = ", ".join(f"{k}={_short(self.mlx[k])}" for k in ("bits", "group_size", "mode")
                              if k in self.mlx)
            self.add(CONFIG, f"config.json quantization (mlx-lm): {shown}")
        if self.qmap:
            kinds = sorted({str(v.get("weights")) for v in self.qmap.values()
                            if isinstance(v, dict)})
            self.add(CONFIG, f"quanto_qmap.json: {len(self.qmap)} modules, weights {kinds}")
        if self.st_metadata:
            shown = ", ".join(f"{k}={_short(v, 40)}" for k, v in list(self.st_metadata.items())[:8])
            self.add(METADATA, f"__metadata__: {shown}")

    # -- lookups -------------------------------------------------------------------------------
    def q(self, key: str, default: Any = None) -> Any:
        return self.qconfig.get(key, default)

    def is_method(self, *names: str) -> bool:
        return self.method is not None and self.method in names
