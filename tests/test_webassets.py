"""copy_assets: our JS/CSS and the pinned libraries land where mkdocs.yml expects them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kb.webassets import WEB_DIR, WebAssetsError, copy_assets, stale_packages


def _web_copy(tmp_path: Path, *, with_modules: bool) -> Path:
    """A copy of web/ (package files, src, and node_modules when asked)."""
    web = tmp_path / "web"
    web.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(WEB_DIR / name, web / name)
    shutil.copytree(WEB_DIR / "src", web / "src")
    if with_modules:
        shutil.copytree(WEB_DIR / "node_modules", web / "node_modules")
    return web


@pytest.fixture(scope="module")
def installed() -> None:
    """The real web/node_modules, installed by npm ci if needed (skips when npm is absent)."""
    if stale_packages() and shutil.which("npm") is None:
        pytest.skip("npm is not installed and web/node_modules is missing")
    from kb.webassets import ensure_node_modules

    ensure_node_modules()


def test_copy_assets_writes_the_files_mkdocs_yml_names(tmp_path: Path, installed: None) -> None:
    dest = tmp_path / "docs" / "assets" / "kb"
    copy_assets(dest)
    names = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert names == [
        "kb.css",
        "kb.js",
        "search.js",  # named by overrides/main.html: it must load before material's bundle
        "vendor/LICENSE-graphology.txt",
        "vendor/LICENSE-sigma.txt",
        "vendor/graphology.umd.min.js",
        "vendor/sigma.min.js",
    ]
    assert (dest / "kb.js").read_bytes() == (WEB_DIR / "src" / "kb.js").read_bytes()
    # The UMD builds set the globals kb.js reads, and point at no source map we do not ship.
    sigma = (dest / "vendor" / "sigma.min.js").read_text(encoding="utf-8")
    graphology = (dest / "vendor" / "graphology.umd.min.js").read_text(encoding="utf-8")
    assert ".Sigma=" in sigma[:400]
    assert ".graphology=" in graphology[:400]
    assert "sourceMappingURL" not in sigma + graphology


def test_the_lockfile_pins_exact_versions() -> None:
    package = json.loads((WEB_DIR / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((WEB_DIR / "package-lock.json").read_text(encoding="utf-8"))
    assert set(package["dependencies"]) == {"sigma", "graphology"}
    for name, version in package["dependencies"].items():
        assert version[0].isdigit(), f"{name} is not pinned to one version: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_a_stale_install_is_noticed(tmp_path: Path, installed: None) -> None:
    web = _web_copy(tmp_path, with_modules=True)
    assert stale_packages(web) == []
    meta = web / "node_modules" / "sigma" / "package.json"
    data = json.loads(meta.read_text(encoding="utf-8"))
    data["version"] = "0.0.1"
    meta.write_text(json.dumps(data), encoding="utf-8")
    locked = json.loads((web / "package-lock.json").read_text(encoding="utf-8"))["packages"]["node_modules/sigma"]
    assert stale_packages(web) == [f"sigma@{locked['version']}"]


def test_without_npm_the_error_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    web = _web_copy(tmp_path, with_modules=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(WebAssetsError) as caught:
        copy_assets(tmp_path / "dest", web_dir=web)
    assert str(caught.value) == (
        "the site needs graphology@0.26.0, sigma@3.0.3 from npm, and npm is not installed; "
        f"install Node.js and npm (apt-get install npm), then run `npm ci` in {web}"
    )
    assert not (tmp_path / "dest").exists()


def test_a_broken_lockfile_is_named(tmp_path: Path) -> None:
    web = _web_copy(tmp_path, with_modules=False)
    (web / "package-lock.json").write_text("{", encoding="utf-8")
    with pytest.raises(WebAssetsError, match=r"package-lock\.json: cannot read the npm lockfile"):
        copy_assets(tmp_path / "dest", web_dir=web)
