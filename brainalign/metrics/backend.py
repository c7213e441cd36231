"""The array library the metrics compute with: numpy, or torch (CPU or CUDA), always float64.

The metric code is written once against the few functions below (himalaya's pattern: one solver,
several backends). `get_backend("auto", device)` picks torch when a CUDA device is asked for and
available, numpy otherwise.
"""

import numpy as np
import scipy.linalg
from threadpoolctl import ThreadpoolController

from brainalign.errors import ConfigError

BACKENDS = ("auto", "numpy", "torch")
_THREADS = ThreadpoolController()


def one_thread(function):
    """Run a numpy LAPACK factorisation on one BLAS thread: at these sizes (n <= a few thousand) a
    second thread gains little when the machine is idle, and on a busy machine its spin-waiting
    costs 10-100x (docs/metrics.md). Matrix products keep every thread."""

    def wrapped(*args, **kwargs):
        with _THREADS.limit(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return wrapped


class NumpyBackend:
    name = "numpy"
    device = "cpu"
    nan = np.nan

    def asarray(self, a):
        return np.asarray(a, dtype=np.float64)

    def index(self, idx):
        return np.asarray(idx, dtype=np.intp)

    def to_numpy(self, a):
        return np.asarray(a)

    def zeros(self, shape):
        return np.zeros(shape)

    def eye(self, n):
        return np.eye(n)

    def stack(self, arrays):
        return np.stack(arrays)

    def einsum(self, spec, *arrays):
        return np.einsum(spec, *arrays)

    def sqrt(self, a):
        return np.sqrt(a)

    def abs(self, a):
        return np.abs(a)

    def clip(self, a, low, high):
        return np.clip(a, low, high)

    def round(self, a):
        return np.round(a)

    def all_equal_first_row(self, a):
        return np.all(a == a[:1], axis=0)

    def norm(self, a):
        return float(np.linalg.norm(a))

    def abs_max_per_layer(self, a):
        return np.abs(a).reshape(len(a), -1).max(axis=1)

    @one_thread
    def cholesky(self, a):
        """Lower Cholesky factor, or None when `a` is not (numerically) positive definite."""
        try:
            return np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            return None

    @one_thread
    def cho_solve(self, lower, b):
        return scipy.linalg.cho_solve((lower, True), b, check_finite=False)

    @one_thread
    def cho_inverse(self, lower):
        inverse, info = scipy.linalg.lapack.dpotri(lower, lower=1)
        if info:
            raise np.linalg.LinAlgError(f"dpotri failed ({info})")
        return np.tril(inverse) + np.tril(inverse, -1).T

    @one_thread
    def qr(self, a):
        return np.linalg.qr(a)

    @one_thread
    def qr_r(self, a):
        return np.linalg.qr(a, mode="r")

    @one_thread
    def svd(self, a):
        return np.linalg.svd(a, full_matrices=False)

    @one_thread
    def solve(self, a, b):
        return np.linalg.solve(a, b)

    @one_thread
    def eigvalsh(self, a):
        return np.linalg.eigvalsh(a)

    @one_thread
    def eigh(self, a):
        return np.linalg.eigh(a)


class TorchBackend:
    name = "torch"
    nan = float("nan")

    def __init__(self, device="cpu"):
        import torch

        self.torch = torch
        self.device = torch.device(device)

    def asarray(self, a):
        torch = self.torch
        if isinstance(a, torch.Tensor):
            return a.to(device=self.device, dtype=torch.float64)
        return torch.as_tensor(np.asarray(a, dtype=np.float64), device=self.device)

    def index(self, idx):
        return self.torch.as_tensor(np.asarray(idx, dtype=np.int64), device=self.device)

    def to_numpy(self, a):
        return a.detach().cpu().numpy()

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def eye(self, n):
        return self.torch.eye(n, dtype=self.torch.float64, device=self.device)

    def stack(self, arrays):
        return self.torch.stack(arrays)

    def einsum(self, spec, *arrays):
        return self.torch.einsum(spec, *arrays)

    def sqrt(self, a):
        return self.torch.sqrt(a)

    def abs(self, a):
        return self.torch.abs(a)

    def clip(self, a, low, high):
        return self.torch.clamp(a, low, high)

    def round(self, a):
        return self.torch.round(a)

    def all_equal_first_row(self, a):
        return (a == a[:1]).all(dim=0)

    def norm(self, a):
        return float(self.torch.linalg.norm(a))

    def abs_max_per_layer(self, a):
        return a.abs().reshape(len(a), -1).amax(dim=1)

    def cholesky(self, a):
        lower, info = self.torch.linalg.cholesky_ex(a)
        return None if int(info) else lower

    def cho_solve(self, lower, b):
        return self.torch.cholesky_solve(b, lower)

    def cho_inverse(self, lower):
        return self.torch.cholesky_inverse(lower)

    def qr(self, a):
        return self.torch.linalg.qr(a)

    def qr_r(self, a):
        return self.torch.linalg.qr(a, mode="r")[1]

    def svd(self, a):
        return self.torch.linalg.svd(a, full_matrices=False)

    def solve(self, a, b):
        return self.torch.linalg.solve(a, b)

    def eigvalsh(self, a):
        return self.torch.linalg.eigvalsh(a)

    def eigh(self, a):
        return self.torch.linalg.eigh(a)


def get_backend(backend="auto", device=None):
    """The backend for `backend` in BACKENDS and `device` ("cpu", "cuda", "cuda:1", or None).

    auto: torch when `device` is a CUDA device and torch sees one, numpy otherwise. numpy always
    computes on the CPU; torch computes on `device`."""
    if backend not in BACKENDS:
        raise ConfigError(f"metric backend={backend!r}; choose one of {BACKENDS}")
    device = "cpu" if device is None else str(device)
    cuda = device.startswith("cuda")
    if backend == "auto":
        backend = "torch" if cuda and _cuda_available() else "numpy"
    if backend == "numpy":  # always on the CPU, whatever device the model runs on
        return NumpyBackend()
    try:
        import torch  # noqa: F401
    except ImportError as error:  # pragma: no cover - torch is a dependency
        raise ConfigError("backend='torch' needs torch installed") from error
    if cuda and not _cuda_available():
        raise ConfigError(f"device={device!r} but torch sees no CUDA device; use device='cpu'")
    return TorchBackend(device)


def _cuda_available():
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return torch.cuda.is_available()
