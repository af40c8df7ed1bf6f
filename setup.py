"""Only what pyproject.toml cannot say: a wheel (``pip install .``) carries the shipped models
(``artifacts/``) and the measured reports (``reports/``) inside the package, as ``pizarra/_shipped/``,
so an installed lab run from any folder has them (``pizarra.config.artifacts_dir`` / ``reports_dir``).
An editable install reads them from the checkout instead."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithShipped(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in ("artifacts", "reports"):
            if (ROOT / name).is_dir():
                shutil.copytree(
                    ROOT / name,
                    Path(self.build_lib) / "pizarra" / "_shipped" / name,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".*", "__pycache__"),
                )


setup(cmdclass={"build_py": BuildPyWithShipped})
