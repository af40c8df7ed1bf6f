"""`pizarra images ...`: chapter 10 from the terminal.

pizarra images generate "una zapatilla" [--n 16] [--steps 40] [--guidance 3] [--seed 0]
                        [--method ddim|ddpm] [--out grid.png] [--json]
pizarra images search "un bolso" [--k 8] [--json]
pizarra images steps "a sneaker" [--seed 0] [--out steps.png] [--json]    the slide's 1..40 steps
pizarra images train autoencoder|clip|classifier|diffusion|all [--steps N] [--minutes M]
pizarra images evaluate [--per-class 50] [--json]     -> reports/images_quality.json + card
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .. import cli_support as _support  # out, err, emit_json: shared by every command
from ..cli_support import json_opt as _json_opt
from ..cli_support import run as _run

app = typer.Typer(
    no_args_is_help=True, help="Generar imágenes: a tiny CLIP (search) and latent diffusion (generate), trained here."
)

SHADES = " .:-=+*#%@"


def ascii_art(img, width: int = 28) -> str:
    """A 28×28 picture as text (two characters per pixel, 14 rows: every other row)."""
    rows = []
    for r in range(0, img.shape[0], 2):
        rows.append("".join(SHADES[int(v) * (len(SHADES) - 1) // 255] * 2 for v in img[r]))
    return "\n".join(rows)


def _caption_json(r: dict) -> dict:
    return {k: r[k] for k in ("caption", "words", "unknown", "fallback", "notice_en", "classes")}


def _notice(r: dict) -> None:
    if r.get("notice_en"):
        _support.err.print(f"[yellow]{r['notice_en']}[/]", highlight=False)


def _save(images, out: Path, cols: int = 8, scale: int = 3) -> str:
    from pizarra.images.png import grid, png_bytes

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png_bytes(grid(images, cols), scale))
    return str(out)


@app.command("generate")
def generate_cmd(
    caption: str = typer.Argument(..., help="What to draw, in Spanish or English."),
    n: int = typer.Option(16, "--n", help="Pictures (1-32)."),
    steps: int = typer.Option(40, help="Denoising steps (1-100)."),
    guidance: float = typer.Option(5.0, help="Classifier-free guidance w (0-10)."),
    seed: int = typer.Option(0, help="Seed of the starting noise."),
    method: str = typer.Option("ddim", help="ddim or ddpm."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the pictures as one PNG grid."),
    as_json: bool = _json_opt(),
):
    """Draw CAPTION with the latent diffusion model (shipped artifacts, CPU)."""
    from pizarra.images.core import generate
    from pizarra.images.data import class_name

    def go():
        r = generate(caption, n, steps, guidance, seed, method)
        path = _save(r["images"], out) if out else None
        if as_json:
            _support.emit_json(
                {
                    **_caption_json(r),
                    **{k: r[k] for k in ("n", "steps", "guidance", "seed", "method", "seconds", "judge")},
                    "out": path,
                }
            )
            return
        _notice(r)
        o = _support.out
        o.print(f"«{r['caption']}» → read as: {' '.join(r['words'])} · nearest class: {r['classes'][0]['en']}")
        o.print(ascii_art(r["images"][0]), highlight=False)
        if r["judge"] is not None:
            want = r["classes"][0]["class"]
            ok = sum(j == want for j in r["judge"])
            o.print(f"classifier: {ok}/{n} recognised as {class_name(want, 'en')}")
        o.print(
            f"{n} pictures × {steps} steps ({method}, w={guidance}): {r['seconds']:.2f} s"
            + (f" → {path}" if path else " (use --out grid.png to save them)")
        )

    _run(go, as_json)


@app.command("search")
def search_cmd(
    caption: str = typer.Argument(..., help="A caption, in Spanish or English."),
    k: int = typer.Option(8, "--k", "-k", help="How many pictures (1-50)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the pictures as one PNG grid."),
    as_json: bool = _json_opt(),
):
    """The gallery pictures nearest to CAPTION in the tiny CLIP's space."""
    import numpy as np

    from pizarra.images.core import search

    def go():
        r = search(caption, k)
        path = _save(np.stack([p["image"] for p in r["results"]]), out) if out else None
        results = [{key: p[key] for key in ("index", "class", "es", "en", "score")} for p in r["results"]]
        if as_json:
            _support.emit_json({**_caption_json(r), "results": results, "out": path})
            return
        _notice(r)
        from rich.table import Table

        t = Table(title=f"«{r['caption']}»")
        for col in ("#", "gallery index", "class", "cosine"):
            t.add_column(col)
        for i, p in enumerate(results, 1):
            t.add_row(str(i), str(p["index"]), f"{p['es']} / {p['en']}", f"{p['score']:.3f}")
        _support.out.print(t)
        if path:
            _support.out.print(f"→ {path}")

    _run(go, as_json)


@app.command("steps")
def steps_cmd(
    caption: str = typer.Argument(..., help="What to draw."),
    seed: int = typer.Option(0, help="Seed of the starting noise."),
    guidance: float = typer.Option(5.0, help="Classifier-free guidance w (0-10)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the 10 pictures as one PNG row."),
    as_json: bool = _json_opt(),
):
    """The same sample after 1, 2, 3, 5, 8, 10, 15, 20, 30 and 40 steps (the lecture's slide)."""
    import numpy as np

    from pizarra.images.core import steps_view

    def go():
        r = steps_view(caption, seed, guidance)
        path = _save(np.stack([f["image"] for f in r["frames"]]), out, cols=10) if out else None
        if as_json:
            _support.emit_json({**_caption_json(r), "steps": [f["steps"] for f in r["frames"]], "out": path})
            return
        _notice(r)
        for f in r["frames"][::3] + [r["frames"][-1]]:
            _support.out.print(f"Steps: {f['steps']}\n{ascii_art(f['image'])}", highlight=False)
        if path:
            _support.out.print(f"→ {path}")

    _run(go, as_json)


@app.command("train")
def train_cmd(
    model: str = typer.Argument(..., help="autoencoder, clip, classifier, diffusion or all."),
    steps: Optional[int] = typer.Option(None, help="Optimiser steps (default: the model's)."),
    minutes: Optional[float] = typer.Option(None, help="Stop and save after this long."),
    threads: int = typer.Option(1, help="torch threads."),
    as_json: bool = _json_opt(),
):
    """Train a model of chapter 10 on Fashion-MNIST + MNIST and save it as artifacts/img-*."""
    from pizarra.errors import BadInput

    def go():
        import torch

        from pizarra.images.train import TRAINERS

        names = list(TRAINERS) if model == "all" else [model]
        if any(m not in TRAINERS for m in names):
            raise BadInput(
                f"model must be one of {', '.join([*TRAINERS, 'all'])}, got {model!r}.",
                key="err.unknown_model",
                value=model,
                allowed=[*TRAINERS, "all"],
            )
        torch.set_num_threads(threads)
        results = {}
        for name in names:
            kw = {
                "minutes": minutes,
                "argv": [name]
                + (["--steps", str(steps)] if steps else [])
                + (["--minutes", str(minutes)] if minutes else []),
            }
            if steps:
                kw["steps"] = steps
            results[name] = TRAINERS[name](**kw)
            if not as_json:
                _support.out.print(f"{name}: {results[name]}")
        if as_json:
            _support.emit_json(results)

    _run(go, as_json)


@app.command("evaluate")
def evaluate_cmd(
    per_class: int = typer.Option(50, help="Generated pictures per class (20 classes)."),
    steps: int = typer.Option(40, help="Denoising steps."),
    guidance: Optional[float] = typer.Option(None, help="Guidance (default: the lab's)."),
    card: bool = typer.Option(True, help="Also write the numbers into img-diffusion's card."),
    as_json: bool = _json_opt(),
):
    """Recognition rate and FID of generated pictures -> reports/images_quality.json."""

    def go():
        from pizarra.images.evaluate import add_to_card, quality

        r = quality(steps=steps, guidance=guidance, per_class=per_class)
        if card:
            add_to_card(
                "img-diffusion",
                {
                    "quality": {
                        k: r[k]
                        for k in (
                            "steps",
                            "guidance",
                            "samples",
                            "recognised",
                            "recognised_fashion",
                            "recognised_digits",
                            "fid_classifier_features",
                            "fid_real_train_vs_test",
                        )
                    }
                },
            )
        if as_json:
            _support.emit_json(r)
        else:
            _support.out.print(
                f"recognised: {r['recognised']:.1%} of {r['samples']} pictures at {r['steps']} steps; "
                f"FID (classifier features) {r['fid_classifier_features']} "
                f"(real train vs test: {r['fid_real_train_vs_test']})"
            )

    _run(go, as_json)
