"""The command line's error contract: a bad override or config is one line on stderr and exit 2."""

import os
import re
import sys

PREFIX = "[brainalign] error: "
TYPES = [(r"converted to Integer", "an integer"), (r"converted to Float", "a number"),
         (r"not a valid bool", "true or false"), (r"converted to String", "a string"),
         (r"Invalid type assigned", "another type"), (r"Non optional field cannot be assigned None", "a value, not null")]


def one_line(err: BaseException) -> str:
    """A short, single-line description of a Hydra / OmegaConf composition error."""
    from omegaconf.errors import OmegaConfBaseException

    cause = err.__cause__ or err.__context__
    text = str(err)
    m = re.search(r"Error merging override (\S+?)=(.*)", text)
    if m and isinstance(cause, OmegaConfBaseException):
        key, value = m.group(1).lstrip("+~"), m.group(2)
        msg = str(cause).splitlines()[0]
        for pattern, expected in TYPES:
            if re.search(pattern, msg):
                return f"{key}={value}: expected {expected}"
        return f"{key}={value}: {msg}"
    m = re.search(r"Could not override '([^']+)'", text)
    if m:
        return f"{m.group(1)}: no such setting"
    m = re.search(r"In '([^']+)': Could not find '([^']+)'", text) or re.search(r"Could not find '([^']+)'", text)
    if m:
        missing = m.group(m.lastindex)
        group, _, name = missing.rpartition("/")
        options = re.findall(r"^\t(\S+)$", text, flags=re.M)
        listed = f"; choose one of: {', '.join(o for o in options if not o.startswith('_'))}" if options else ""
        return f"{group}={name}: no such config{listed}" if group else f"no config named {missing!r}{listed}"
    m = re.search(r"ConfigError raised while resolving interpolation: (.*?)(?:\s+full_key:|$)", text, flags=re.S)
    if m:   # a check inside a resolver (the result folder's name): its own message
        return " ".join(m.group(1).split())
    if isinstance(cause, Exception) and type(cause).__name__ == "ConfigError":
        return str(cause)
    inner = cause
    while inner is not None and inner.__cause__ is not None:
        inner = inner.__cause__
    if inner is not None and type(inner).__name__ == "ConfigError":
        return str(inner)
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def setup_or_exit() -> None:
    """brainalign.config.setup (resolvers, schemas, declarations and plugins); a plugin that cannot be
    loaded is one line and exit 2."""
    from brainalign.config import setup
    from brainalign.errors import BrainalignError

    try:
        setup()
    except BrainalignError as e:
        print(PREFIX + str(e), file=sys.stderr)
        sys.exit(2)


def guarded(main) -> None:
    """Run the Hydra entry point; composition errors become one line (HYDRA_FULL_ERROR=1 keeps Hydra's). A sweep
    stopped before its end (Ctrl-C) still prints its summary."""
    from brainalign.app.sweep import summary_if_stopped

    try:
        _one_line_errors(main)
    finally:
        summary_if_stopped()


def _one_line_errors(main) -> None:
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        return main()
    os.environ["HYDRA_FULL_ERROR"] = "1"   # let errors reach us instead of Hydra's multi-line report
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from brainalign.errors import BrainalignError, not_writable

    from brainalign.plumbing import interrupt

    interrupt.install()
    try:
        main()
    except (HydraException, OmegaConfBaseException, BrainalignError) as e:
        print(PREFIX + (str(e) if isinstance(e, BrainalignError) else one_line(e)), file=sys.stderr)
        sys.exit(2)
    except (OSError, ValueError) as e:   # Hydra making the job's folder or its log file there
        if (user := not_writable(e)) is None:
            raise
        print(PREFIX + str(user), file=sys.stderr)
        sys.exit(2)
    except (KeyboardInterrupt, interrupt.Interrupted) as e:  # before or between jobs
        stopped = interrupt.as_interrupted(e)
        print(f"[brainalign] {stopped.message()}", file=sys.stderr)
        sys.exit(stopped.code)
