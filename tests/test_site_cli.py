"""kb build, kb serve, kb graph from the command line: the quick paths (errors, help)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_kb
from tests.intel_kb import SMALL, make_kb


def test_build_stops_at_check_problems_without_loading_the_model(tmp_path: Path) -> None:
    root = make_kb(tmp_path, SMALL)
    (root / "entries" / "works" / "bad.yaml").write_text("id: bad\ntitle: Bad\nkind: modle\n", encoding="utf-8")
    run = run_kb("--root", str(root), "build")
    assert run.code == 1
    assert run.err.startswith("entries/works/bad.yaml:3:7: kind: ")
    assert "did you mean 'model'?" in run.err
    assert "kb: embedding " not in run.err
    assert not (root / "site").exists()


def test_serve_without_a_built_site_says_what_to_do(tmp_path: Path) -> None:
    root = make_kb(tmp_path, SMALL)
    run = run_kb("--root", str(root), "serve", "--no-build")
    assert run.code == 2
    assert run.err == f"kb: {root / 'site'} holds no built site; run kb build first (or kb serve without --no-build)\n"


def test_serve_on_a_busy_port_says_so_before_building(tmp_path: Path) -> None:
    import socket

    root = make_kb(tmp_path, SMALL)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = run_kb("--root", str(root), "serve", "--port", str(port))
    assert (run.code, run.out) == (2, "")
    assert run.err == f"kb: cannot listen on 127.0.0.1:{port} (Address already in use); pick another --port\n"


def test_graph_refuses_an_unknown_format(tmp_path: Path) -> None:
    root = make_kb(tmp_path, SMALL)
    run = run_kb("--root", str(root), "graph", "--format", "gexf", "-o", str(tmp_path / "g"))
    assert run.code == 2
    assert run.err == "kb: unknown format 'gexf'; expected one of node-link, graphml\n"


def test_graph_without_similarity_needs_no_embeddings(tmp_path: Path) -> None:
    import networkx as nx

    root = make_kb(tmp_path, SMALL)
    run = run_kb("--root", str(root), "graph", "--no-similar", "--format", "graphml", "-o", str(tmp_path / "g.graphml"))
    assert run.code == 0, run.err
    assert {"llava", "pope", "codev:data4model"} <= set(nx.read_graphml(tmp_path / "g.graphml").nodes)
    assert "kb: embedding " not in run.err
    to_stdout = run_kb("--root", str(root), "graph", "--no-similar", "--format", "graphml", "-o", "-", cwd=tmp_path)
    assert to_stdout.code == 0 and to_stdout.out == (tmp_path / "g.graphml").read_text(encoding="utf-8")
    assert not (tmp_path / "-").exists()


def test_every_site_command_is_documented() -> None:
    run = run_kb("--help")
    for name in ("build", "serve", "graph"):
        assert f"  {name} " in run.out
