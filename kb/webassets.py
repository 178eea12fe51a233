"""The browser side of the site: our JS/CSS from web/src and the pinned libraries from web/node_modules.

The libraries come from the npm registry at the versions in web/package-lock.json; we commit none of
their code. `copy_assets` installs them with `npm ci` when they are missing or stale, then copies
everything the pages load into one folder (``<docs>/assets/kb/``):

    kb.js, kb.css, search.js              our code (web/src)
    vendor/graphology.umd.min.js          graphology's browser build, global ``graphology``
    vendor/sigma.min.js                   sigma's browser build, global ``Sigma``
    vendor/LICENSE-<package>.txt          their licences travel with their code
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from kb.errors import KBError

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# Our own files, copied as they are (no build step).
OWN_FILES = ("kb.js", "kb.css", "search.js")

# vendor file name -> (npm package, path inside the package). Both are UMD builds that set a global.
VENDOR_FILES = {
    "graphology.umd.min.js": ("graphology", "dist/graphology.umd.min.js"),
    "sigma.min.js": ("sigma", "dist/sigma.min.js"),
}
LICENSE_FILES = {"graphology": "LICENSE.txt", "sigma": "LICENSE.txt"}


class WebAssetsError(KBError):
    """The JavaScript libraries could not be installed or found."""


def copy_assets(dest: Path, web_dir: Path = WEB_DIR) -> None:
    """Copy kb.js, kb.css and the vendored libraries into ``dest`` (created if needed)."""
    ensure_node_modules(web_dir)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "vendor").mkdir(exist_ok=True)
    for name in OWN_FILES:
        shutil.copyfile(web_dir / "src" / name, dest / name)
    modules = web_dir / "node_modules"
    for name, (package, inner) in VENDOR_FILES.items():
        source = modules / package / inner
        if not source.is_file():
            raise WebAssetsError(f"{source} is missing after npm ci; the pinned {package} no longer ships {inner}")
        # The minified builds end with a sourceMappingURL comment; the map is not copied, so drop the
        # comment rather than leave browsers a link that 404s.
        text = source.read_text(encoding="utf-8")
        text = "\n".join(line for line in text.splitlines() if not line.startswith("//# sourceMappingURL="))
        (dest / "vendor" / name).write_text(text + "\n", encoding="utf-8")
    for package, license_name in LICENSE_FILES.items():
        license_path = modules / package / license_name
        if license_path.is_file():
            shutil.copyfile(license_path, dest / "vendor" / f"LICENSE-{package}.txt")


def ensure_node_modules(web_dir: Path = WEB_DIR) -> None:
    """Run `npm ci` in web/ unless node_modules already holds the locked versions."""
    stale = stale_packages(web_dir)
    if not stale:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise WebAssetsError(
            f"the site needs {', '.join(stale)} from npm, and npm is not installed; "
            f"install Node.js and npm (apt-get install npm), then run `npm ci` in {web_dir}"
        )
    proc = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=web_dir,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit code {proc.returncode}"
        raise WebAssetsError(f"`npm ci` in {web_dir} failed: {last}")
    still = stale_packages(web_dir)
    if still:
        raise WebAssetsError(f"`npm ci` in {web_dir} did not install {', '.join(still)}")


def stale_packages(web_dir: Path = WEB_DIR) -> list[str]:
    """The vendored packages whose installed version differs from the lockfile (or that are missing)."""
    lock_path = web_dir / "package-lock.json"
    try:
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WebAssetsError(f"{lock_path}: cannot read the npm lockfile ({exc})") from exc
    stale = []
    for package, _ in VENDOR_FILES.values():
        locked = lock.get("packages", {}).get(f"node_modules/{package}", {}).get("version")
        if locked is None:
            raise WebAssetsError(f"{lock_path}: {package} is not in the lockfile")
        try:
            installed = json.loads((web_dir / "node_modules" / package / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            installed = {}
        if installed.get("version") != locked:
            stale.append(f"{package}@{locked}")
    return stale
