"""A LeBel2023 subject's cortical mask from the release's pycortex database, for slice maps.

`<pycortex_db>/<subject>/transforms/<subject>_auto/mask_thick.nii.gz` (pycortex's layout; the .hf5
columns are its True voxels in C order of the [Z, Y, X] volume, as pycortex's `db.get_mask` reads it:
the NIfTI array transposed)."""

from pathlib import Path

import numpy as np

from brainalign.datasets.stories import need
from brainalign.errors import DataMismatch


def mask_path(db, subject: str) -> Path:
    return Path(str(db)).expanduser() / subject / "transforms" / f"{subject}_auto" / "mask_thick.nii.gz"


def cortical_mask(db, subject: str, n_voxels: int) -> np.ndarray:
    """[Z, Y, X] boolean mask with `n_voxels` True voxels (the subject's response columns)."""
    import nibabel as nib

    path = need(mask_path(db, subject), f"{subject}'s cortical mask (dataset.pycortex_db)")
    mask = np.asarray(nib.load(str(path)).dataobj).T.astype(bool)
    if mask.ndim != 3 or int(mask.sum()) != int(n_voxels):
        raise DataMismatch(f"{path}: {int(mask.sum())} voxels in a {mask.shape} mask, but {subject}'s responses "
                           f"have {n_voxels}")
    return mask
