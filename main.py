"""brainalign: `python main.py model=flan-t5-xl dataset=pereira` (see README.md)."""

import sys

from brainalign.plumbing import interrupt

interrupt.install()
try:  # Ctrl-C or SIGTERM while starting (imports, plugins) is one line and exit 130 / 143 too, not a traceback
    import hydra

    from brainalign.app.cli import guarded, setup_or_exit

    setup_or_exit()  # resolvers, schemas, the declared benchmarks and plugins
except (KeyboardInterrupt, interrupt.Interrupted) as e:
    stopped = interrupt.as_interrupted(e)
    print(f"[brainalign] {stopped.message()}", file=sys.stderr)
    sys.exit(stopped.code)


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg):
    from brainalign.app.run import main_job

    return main_job(cfg)


if __name__ == "__main__":
    from brainalign.app import plan

    if plan.requested(sys.argv[1:]):  # task=plan: expand the run or sweep here, launch nothing
        sys.exit(plan.main(sys.argv[1:]))
    guarded(main)
