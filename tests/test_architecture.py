"""The dependency rules of DEVELOPERS.md, checked on the source (ast, not grep)."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGIN_PACKAGES = {p.name for p in (REPO / "plugins").glob("*/ttrl_*") if p.is_dir()}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def py_files(root: Path):
    return [p for p in root.rglob("*.py") if "tests" not in p.parts]


def offending(files, forbidden_prefixes):
    bad = []
    for f in files:
        for mod in imports_of(f):
            if any(mod == p or mod.startswith(p + ".") for p in forbidden_prefixes):
                bad.append(f"{f.relative_to(REPO)} imports {mod}")
    return bad


def test_plugin_packages_exist():
    assert {"ttrl_math", "ttrl_text_cls", "ttrl_multimodal"} <= PLUGIN_PACKAGES


def test_core_knows_no_engine_cli_or_plugin():
    forbidden = {"ttrl_kit.engines", "ttrl_kit.cli", *PLUGIN_PACKAGES}
    assert offending(py_files(REPO / "ttrl_kit" / "core"), forbidden) == []


def test_engines_never_import_a_plugin():
    assert offending(py_files(REPO / "ttrl_kit" / "engines"), PLUGIN_PACKAGES) == []


def test_engines_import_neither_the_cli_nor_the_bench():
    """Engines sit below the application shell: an arrow back up to ``ttrl_kit.cli`` (or to
    the bench, which drives an engine) would make the layers a cycle."""
    assert offending(py_files(REPO / "ttrl_kit" / "engines"), {"ttrl_kit.cli", "ttrl_kit.bench"}) == []


def test_bench_never_imports_the_cli():
    """The bench sits beside the CLI: it may start ``python -m ttrl_kit.cli.main`` as a
    subprocess (a run it measures), never import it."""
    assert offending(py_files(REPO / "ttrl_kit" / "bench"), {"ttrl_kit.cli"}) == []


def test_the_public_trl_reward_knows_only_the_core():
    assert offending([REPO / "ttrl_kit" / "trl.py"], {"ttrl_kit.engines", "ttrl_kit.cli", "ttrl_kit.bench"}) == []


@pytest.mark.parametrize("plugin", sorted(PLUGIN_PACKAGES))
def test_plugins_know_only_the_core(plugin):
    root = next((REPO / "plugins").glob(f"*/{plugin}"))
    others = PLUGIN_PACKAGES - {plugin}
    assert offending(py_files(root), {"ttrl_kit.engines", "ttrl_kit.cli", *others}) == []


def test_core_imports_no_engine_library():
    """Engines bring their training libraries; the core must load without any of them."""
    forbidden = {"verl", "openrlhf", "ray", "vllm", "deepspeed", "trl", "hydra", "omegaconf"}
    assert offending(py_files(REPO / "ttrl_kit" / "core"), forbidden) == []

