"""The code's shape: no import cycle in brainalign/ or finetune/, models never import activations, no
machine path in tracked files."""

import ast
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("brainalign", "finetune")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every project module `name` imports, at module level or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    modules = project_modules()
    known = set(modules)
    graph = {name: imports_of(name, path, known) for name, path in modules.items()}
    # a package's __init__ importing its own submodules, which import siblings through the package, is
    # how Python packages re-export; only cycles between different modules' code count
    for name in graph:
        graph[name] = {t for t in graph[name] if not (name.startswith(t + ".") and modules[t].name == "__init__.py")}
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_models_never_import_activations():
    """The data flow runs one way: activations use models (layers, baselines), never the reverse."""
    modules = project_modules()
    known = set(modules)

    def package(module):
        return ".".join(module.split(".")[:2])

    upward = sorted(f"{name} -> {target}" for name, path in modules.items() if package(name) == "brainalign.models"
                    for target in imports_of(name, path, known) if package(target) == "brainalign.activations")
    assert not upward, "brainalign.models imports brainalign.activations: " + ", ".join(upward)


MACHINE_PATH = re.compile(r"(?<![\w.])/(work|root|home/\w+|Users/\w+)/[\w.-]+")


def test_no_machine_path_in_tracked_files():
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    hits = []
    for f in files:
        path = REPO / f
        if path.suffix in (".py", ".md", ".yaml", ".toml", ".cfg", ".sh", ".txt", "") and path.is_file():
            for i, line in enumerate(path.read_text(errors="ignore").splitlines(), 1):
                if MACHINE_PATH.search(line):
                    hits.append(f"{f}:{i}: {line.strip()[:100]}")
    assert not hits, "machine paths in tracked files:\n" + "\n".join(hits[:20])


CONFIG_MODULES = ("omegaconf", "hydra", "brainalign.config")
FILE_MODULES = ("pathlib", "pickle", "shutil", "brainalign.plumbing.io", "brainalign.plumbing.cache")
FILE_CALLS = {"open", "load", "save", "savez", "savez_compressed", "loadtxt", "savetxt", "fromfile", "tofile",
              "read_text", "write_text", "read_bytes", "write_bytes", "glob", "rglob", "mkdir", "unlink"}


def config_and_file_uses(path: Path) -> list[str]:
    """Where a module imports a config or file module, reads a config object (any name with `cfg`:
    metric_cfg, from_cfg, ...) or calls a file function (open(), np.load, np.save, Path.read_text, ...)."""
    hits = []
    for node in ast.walk(ast.parse(path.read_text())):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            hits += [f"{line}: imports {n}" for n in names if n.startswith(CONFIG_MODULES + FILE_MODULES)]
        name = {ast.Name: "id", ast.Attribute: "attr", ast.arg: "arg", ast.FunctionDef: "name"}.get(type(node))
        if name and "cfg" in getattr(node, name):
            hits.append(f"{line}: reads a config ({getattr(node, name)})")
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if (called == "open" if isinstance(func, ast.Name) else called in FILE_CALLS or called.startswith("open_")):
                hits.append(f"{line}: calls {called}()")
    return list(dict.fromkeys(hits))


def test_config_and_file_use_finder_finds_them(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from omegaconf import OmegaConf\nimport numpy as np\n\ndef f(metric_cfg, p):\n"
                      "    np.save(p, 1)\n    return open(p).read(), p.read_text(), np.mean(p)\n")
    assert sorted(config_and_file_uses(source)) == ["1: imports omegaconf", "4: reads a config (metric_cfg)",
                                                    "5: calls save()", "6: calls open()", "6: calls read_text()"]


def test_metrics_take_arrays_not_configs_or_files():
    """brainalign/metrics/ gets arrays, splits and plain arguments; the benchmarks read configs and files."""
    hits = [f"{p.relative_to(REPO)}:{hit}" for p in sorted((REPO / "brainalign" / "metrics").glob("*.py"))
            for hit in config_and_file_uses(p)]
    assert not hits, "config or file use in brainalign/metrics:\n" + "\n".join(hits)
