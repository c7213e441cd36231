"""Ctrl-C and SIGTERM: long loops save what they computed, then the job ends with one line and exit
130 (SIGINT) or 143 (SIGTERM), and the same command resumes."""

import signal
import threading


class Interrupted(BaseException):
    """Raised out of a long computation once its checkpoint is saved (BaseException, like KeyboardInterrupt,
    so that no `except Exception` swallows it)."""

    def __init__(self, code: int = 130, done: int | None = None, total: int | None = None, unit: str = ""):
        super().__init__(code)
        self.code, self.done, self.total, self.unit = code, done, total, unit

    def message(self) -> str:
        what = (f" after {self.done:,} of {self.total:,} {self.unit}" if self.done is not None and self.total
                else "")
        return f"interrupted{what}; rerun the same command to resume"


def _on_sigterm(signum, frame):
    raise Interrupted(143)


def install() -> None:
    """SIGTERM raises Interrupted (SIGINT already raises KeyboardInterrupt); main thread only."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


def as_interrupted(err: BaseException, done: int | None = None, total: int | None = None,
                   unit: str = "") -> Interrupted:
    """KeyboardInterrupt / Interrupted -> Interrupted carrying how far the work got."""
    code = err.code if isinstance(err, Interrupted) else 130
    if isinstance(err, Interrupted) and err.done is not None:
        return err
    return Interrupted(code, done, total, unit)
