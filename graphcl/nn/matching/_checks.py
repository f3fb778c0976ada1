"""The argument check the graph-matching blocks share: two float embeddings
of the two views, of one shape."""
from __future__ import annotations

from torch import Tensor


def check_view_embeddings(z_s, z_t, layout: str) -> None:
    """Raise unless ``z_s`` and ``z_t`` are float tensors of one shape with as
    many dimensions as ``layout`` names (``"[B, n, F]"`` or ``"[N, F]"``)."""
    dim = layout.count(",") + 1
    for name, z in (("z_s", z_s), ("z_t", z_t)):
        if not isinstance(z, Tensor) or not z.is_floating_point() or z.dim() != dim:
            raise TypeError(f"{name} must be a float {layout} tensor, got "
                            f"{getattr(z, 'dtype', type(z).__name__)} "
                            f"{list(getattr(z, 'shape', []))}")
    if z_s.shape != z_t.shape:
        raise ValueError(f"z_s and z_t must have the same shape, got {list(z_s.shape)} and "
                         f"{list(z_t.shape)}")
