"""Configuration, parts and description of the bitpack layout (QF-BITPACK-001..004, 060)."""

from __future__ import annotations

import numpy as np
import pytest

from qformat import LayoutError, UnsupportedError
from qformat.layouts.bitpack import BitPackedLayout
from qformat.layouts.registry import layout_class, layout_from_dict

GOOD = {"bits": 4, "group_size": 128, "zero": "int", "scale_dtype": "F16", "zero_dtype": "U8",
        "levels": None, "perm": False}


def test_registered_under_its_name():
    assert layout_class("bitpack") is BitPackedLayout
    lay = layout_from_dict({"name": "bitpack", "config": GOOD})
    assert lay == BitPackedLayout(bits=4, group_size=128, zero="int", zero_dtype="U8")
    assert lay.to_config() == GOOD


@pytest.mark.parametrize("config", [
    {**GOOD, "bits": 3, "zero": "none", "zero_dtype": None, "perm": True},
    {**GOOD, "group_size": -1, "zero": "float", "zero_dtype": "BF16", "scale_dtype": "F32"},
    {**GOOD, "bits": 4, "zero": "none", "zero_dtype": None, "levels": "nf4"},
    {**GOOD, "bits": 2, "zero": "bias", "zero_dtype": "F32", "levels": "my-table.v2"},
    {**GOOD, "bits": 7, "group_size": 1},
])
def test_config_round_trip(config):
    """QF-BITPACK-001: every valid configuration survives to_config/from_config."""
    assert BitPackedLayout.from_config(config).to_config() == config


@pytest.mark.parametrize(("change", "field"), [
    ({"bits": 0}, "config.bits"),
    ({"bits": 9}, "config.bits"),
    ({"bits": True}, "config.bits"),
    ({"bits": 4.0}, "config.bits"),
    ({"group_size": 0}, "config.group_size"),
    ({"group_size": -2}, "config.group_size"),
    ({"group_size": "128"}, "config.group_size"),
    ({"zero": "asym"}, "config.zero"),
    ({"scale_dtype": "F64"}, "config.scale_dtype"),
    ({"scale_dtype": "U8"}, "config.scale_dtype"),
    ({"zero_dtype": "F16"}, "config.zero_dtype"),          # int zeros are U8
    ({"zero": "none"}, "config.zero_dtype"),              # none needs null
    ({"zero": "float"}, "config.zero_dtype"),             # float needs F16/BF16/F32
    ({"levels": "Bad Name"}, "config.levels"),
    ({"levels": 3}, "config.levels"),
    ({"levels": "nf4", "bits": 3}, "config.levels"),      # built-in tables are 4-bit
    ({"perm": 1}, "config.perm"),
])
def test_bad_config_names_the_field(change, field):
    """QF-BITPACK-001: a reader refuses bad values with a LayoutError naming config.<key>."""
    with pytest.raises(LayoutError) as exc:
        BitPackedLayout.from_config({**GOOD, **change})
    assert exc.value.field == field
    assert "QF-BITPACK-001" in str(exc.value)


@pytest.mark.parametrize("config", [
    {k: v for k, v in GOOD.items() if k != "perm"},
    {**GOOD, "extra": 1},
    [4, 128],
])
def test_config_key_set_is_exact(config):
    with pytest.raises(LayoutError, match="bitpack configuration"):
        BitPackedLayout.from_config(config)


def test_unknown_layout_name_is_unsupported():
    with pytest.raises(UnsupportedError):
        layout_from_dict({"name": "bitpack2", "config": GOOD})


@pytest.mark.parametrize(("shape", "bits", "group", "codes", "groups"), [
    ((64, 300), 4, 128, (64, 150), 3),       # partial last group of 44
    ((64, 300), 3, 128, (64, 113), 3),       # 900 bits -> 112.5 -> 113 bytes
    ((2, 3, 37), 5, 10, (6, 24), 4),         # rows = prod of leading dims
    ((37,), 2, -1, (1, 10), 1),              # 1-D: one row, one group
    ((8, 10), 4, 128, (8, 5), 1),            # group larger than the row
    ((5, 0), 4, 32, (5, 0), 0),              # empty rows
    ((0, 16), 8, 4, (0, 16), 4),             # no rows
])
def test_part_specs(shape, bits, group, codes, groups):
    """QF-BITPACK-002..004: exact names, order, dtypes and shapes of the stored parts."""
    lay = BitPackedLayout(bits=bits, group_size=group, zero="bias", scale_dtype="BF16",
                          zero_dtype="F32", levels="custom", perm=True)
    specs = lay.part_specs(shape, "F16")
    rows = codes[0]
    assert [(s.name, s.dtype, s.shape) for s in specs] == [
        ("codes", "U8", codes), ("scales", "BF16", (rows, groups)),
        ("bias", "F32", (rows, groups)), ("levels", "F32", (1 << bits,)),
        ("perm", "I32", (shape[-1],))]


def test_part_specs_refuse_scalars_and_int_dtypes():
    lay = BitPackedLayout(bits=4, group_size=32)
    with pytest.raises(LayoutError, match="QF-BITPACK-002"):
        lay.part_specs((), "F32")
    with pytest.raises(LayoutError, match="QF-BITPACK-002"):
        lay.part_specs((4, 4), "I32")


def test_describe_and_bits_per_weight():
    """QF-BITPACK-060: 4 bits + F16 scale + U8 zero per 128 values = 4.1875 bits per weight."""
    q = np.zeros((16, 256), dtype=np.uint8)
    qt = BitPackedLayout.from_codes(q, np.ones((16, 2), np.float16),
                                    np.zeros((16, 2), np.uint8), bits=4, group_size=128)
    info = qt.info("w")
    assert (info.method, info.bits, info.group_size, info.symmetric) == ("bitpack", 4, 128, False)
    assert info.bits_per_weight == 4.1875
    assert info.extra == {"zero_point": "int", "scale_dtype": "F16", "zero_dtype": "U8",
                          "level_table": None, "permuted": False}
    d = info.to_dict()
    assert (d["bits"], d["group_size"], d["zero_point"]) == (4, 128, "int")
