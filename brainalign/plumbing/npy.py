""".npy files that hold pickled objects (a dict of masks, say), read without running code.

numpy's own pickle loading calls whatever function the pickle names, so a crafted file would run code when
read; this module never uses it. Here the pickle may name only what numpy writes for its own arrays, dtypes and scalars; dicts, lists,
tuples, strings and numbers need no name. Anything else (os.system, builtins.open, ...) is refused before
it is called."""

import codecs
import pickle
from pathlib import Path

import numpy as np

from brainalign.errors import DataMismatch

# the functions numpy's own pickles call, under the module names numpy 1.x and 2.x write
_reconstruct = np.ndarray.__reduce__(np.zeros(0))[0]
_scalar = np.float64(0).__reduce__()[0]
ALLOWED = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
           ("_codecs", "encode"): codecs.encode}   # protocol 2 from Python 3 writes bytes this way
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    ALLOWED[(_module, "_reconstruct")] = _reconstruct
    ALLOWED[(_module, "scalar")] = _scalar


class _Refused(pickle.UnpicklingError):
    pass


class _NumpyOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise _Refused(f"{module}.{name}")
        return ALLOWED[(module, name)]


def load_pickled(path) -> object:
    """What the .npy file at `path` holds: the item of a 0-d object array (a dict, say), else the array.

    Raises DataMismatch, one line naming the file, for a pickle that names anything but numpy's arrays,
    dtypes and scalars, and for a file that is not a .npy file."""
    path = Path(path)
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            _, _, dtype = read_header(f)
            if not dtype.hasobject:
                f.seek(0)
                return np.load(f, allow_pickle=False)
            # Python 2 pickles hold array bytes as str: latin1 reads them back (numpy's advice)
            array = _NumpyOnly(f, encoding="latin1").load()
    except _Refused as e:
        raise DataMismatch(f"{path}: refused: its pickle calls {e}, not a numpy array, dtype or scalar "
                           "(a file that runs code when read)") from None
    except (OSError, ValueError, EOFError, TypeError, AttributeError, pickle.UnpicklingError) as e:
        raise DataMismatch(f"{path}: not a readable .npy file ({type(e).__name__}: {e})") from None
    if not isinstance(array, np.ndarray):
        raise DataMismatch(f"{path}: holds a pickled {type(array).__name__}, not a numpy array")
    return array.item() if array.shape == () else array
