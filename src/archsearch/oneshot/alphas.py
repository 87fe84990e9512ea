"""Architecture parameters keyed by label (shared by DARTS, GDAS and ProxylessNAS)."""

from __future__ import annotations

import torch


def alpha_key(label: str) -> str:
    """The ParameterDict key of a label: '%', '.' and '/' percent-encoded (a key may not hold
    '.'), and the first character too when the key would shadow a ParameterDict attribute
    (a label such as "keys" or "type"). Distinct labels always get distinct keys."""
    key = "".join(f"%{ord(c):02X}" if c in "%./" else c for c in label)
    if not key or hasattr(torch.nn.ParameterDict(), key):
        key = f"%{ord(key[0]):02X}{key[1:]}" if key else "%"
    return key
