"""The ``gankit`` command. Errors a user can cause end in one sentence and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gankit.cli_exit import run_app
from gankit.config import MAX_SEED, load_config, parse_override, preset_names, preset_summary
from gankit.errors import Diverged, Interrupted, UserError
from gankit.torchrun import is_lead, world_size

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Train generative adversarial networks and see what they do.",
)
out = Console()


def _print_version(value: bool) -> None:
    if value:
        from gankit import __version__

        print(f"gankit {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    # plain `gankit` prints the help and exits 0 (click's no_args_is_help would exit 2)
    if ctx.invoked_subcommand is None:
        print(ctx.get_help())
        raise typer.Exit()


# the most samples `gankit sample` draws in one call: all of them are held in memory at once
# (1,000,000 points of 2-D are 8 MB; 10,000 RGB images of 64x64 are 0.5 GB as float32)
MAX_SAMPLE_POINTS = 1_000_000
MAX_SAMPLE_IMAGES = 10_000

SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config key: section.key=value (repeatable)."),
]


@app.command()
def presets() -> None:
    """List the presets, one line each."""
    for name in preset_names():
        out.print(f"[bold]{name:<14}[/] {preset_summary(name)}", soft_wrap=True)


@app.command()
def train(
    preset: Annotated[str | None, typer.Argument(help="Preset name; see `gankit presets`.")] = None,
    set_: SetOpt = None,
    config: Annotated[Path | None, typer.Option(help="TOML file of overrides.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Run directory to create.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (data, weights, batches).")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue this run directory.")] = None,
    engine: Annotated[
        str | None, typer.Option(help="torch, keras or numpy: same as --set train.engine=...")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Train a GAN from a preset; write the run directory, GIF, curves and scores. --resume
    continues a run, restarts one stopped before its first checkpoint, or rebuilds what a
    trained run's finishing left missing (scores, GIF, curves, doctor, report)."""
    from gankit import training
    from gankit.outputs import finish, missing

    if engine is not None:
        set_ = [*(set_ or []), f"train.engine={engine}"]

    rebuild = False  # after training everything is written anew
    diverged: Diverged | None = None
    try:
        if resume is not None:
            if preset is not None or config is not None or seed is not None:
                raise UserError(
                    "--resume takes the run's own config; give no preset, --config or --seed."
                )
            try:
                run = training.resume(resume, set_, progress=not quiet)
            except training.AlreadyTrained as e:
                if not missing(e.run):  # trained and finished: nothing left to do
                    raise
                run, rebuild = e.run, True  # a finish cut short: write what it left missing
        else:
            if preset is None:
                raise UserError(f"give a preset to train; available: {', '.join(preset_names())}.")
            cfg = load_config(preset, set_, config, seed)
            run = training.start(cfg, out_dir, progress=not quiet)
    except Diverged as e:  # its scores, pictures and the doctor's words still say what happened
        diverged, run = e, e.run
    if is_lead():  # under torchrun rank 0 alone scores, draws and reports the run
        try:
            summary = finish(run, only_missing=rebuild)
        except KeyboardInterrupt:
            raise Interrupted(
                run,
                0,
                "interrupted while writing the run's scores and pictures; the training is "
                f"saved: write the rest with gankit train --resume {run.path}",
            ) from None
        _print_finish(summary)
    if diverged is not None:
        raise diverged  # exit code 3, after the run's files are written


def _one_process(command: str) -> None:
    """Commands that train several runs in turn are not for torchrun (each run would set
    up and tear down its own process group): say so before any rank starts one."""
    if world_size() > 1:
        raise UserError(
            f"gankit {command} trains several runs one after another and runs as one process; "
            "under torchrun train one preset at a time: torchrun ... -m gankit train PRESET."
        )


def _score_table(title: str, rows: list[tuple[str, str, str]]) -> Table:
    """Scores beside the same score of real held-out data (the floor)."""
    table = Table(title=title, header_style="bold")
    table.add_column("score")
    table.add_column("value", justify="right")
    table.add_column("real data", justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def _print_finish(summary: dict) -> None:
    out.print(_score_table(f"run {summary['run']}", summary["headline"]))
    if summary["findings"]:
        _print_findings(summary["findings"])
    else:
        out.print("doctor: no problem found in the run's metrics and scores.")
    for label, path in summary["files"].items():
        out.print(f"{label:<17} {path}")


def _print_findings(findings: list) -> None:
    """Each finding: severity, name, steps and summary, then its evidence and remedies."""
    for f in findings:
        colour = "red" if f.severity == "error" else "yellow"
        out.print(
            f"[bold {colour}]{f.severity}: {f.name}[/] (steps {f.steps[0]:,}-{f.steps[1]:,}) "
            f"{f.summary}",
            soft_wrap=True,
        )
        evidence = ", ".join(f"{k} = {v:.4g}" for k, v in f.evidence.items())
        out.print(f"  evidence: {evidence}", soft_wrap=True, highlight=False)
        for remedy in f.remedies:
            out.print(f"  try: {remedy}", soft_wrap=True, highlight=False)


@app.command("eval")
def eval_(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
) -> None:
    """Score a run's newest checkpoint (each score with its protocol and real-data floor)."""
    from gankit.evaluate import evaluate
    from gankit.headline import headline
    from gankit.run import RunDir

    result = evaluate(RunDir.open(run))
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    out.print(_score_table(f"{run} at step {result['step']}", headline(result)))
    out.print(f"protocols and all numbers: {Path(run) / 'eval.json'}")


@app.command()
def sample(
    run: Annotated[Path, typer.Argument(help="Run directory, or a folder `gankit export` wrote.")],
    n: Annotated[
        int, typer.Option("-n", help="How many samples (key points with --interpolate).")
    ] = 64,
    out_file: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Points: .npy or .csv. Images: .png grid or .npy; .gif with --interpolate.",
        ),
    ] = Path("samples.npy"),
    seed: Annotated[int, typer.Option(help="Seed of the latent draw.")] = 0,
    interpolate: Annotated[
        bool, typer.Option(help="Images: a GIF walking smoothly between n latent points.")
    ] = False,
) -> None:
    """Write generated samples of a run's newest checkpoint (or of an export): points to
    .npy/.csv, images to a .png grid or .npy array, or a latent walk to a .gif."""
    import numpy as np

    from gankit.export import load_sampler, sampler_config

    if n < 1:
        raise UserError(f"-n {n} asks for no samples; give a positive count.")
    if not 0 <= seed <= MAX_SEED:
        raise UserError(
            f"--seed {seed} is not a seed; seeds are whole numbers from 0 to {MAX_SEED:,}."
        )
    if not out_file.parent.exists():
        raise UserError(f"--out {out_file}: the folder {out_file.parent} does not exist.")
    images = sampler_config(run).data.is_image
    most = MAX_SAMPLE_IMAGES if images else MAX_SAMPLE_POINTS
    if n > most:
        raise UserError(
            f"-n {n:,} is more than one call draws (all are held in memory); give at most "
            f"{most:,} {'images' if images else 'points'}, and call again for more."
        )
    suffix = out_file.suffix.lower()
    accepted = (".gif",) if interpolate else (".png", ".npy") if images else (".npy", ".csv")
    if interpolate and not images:
        raise UserError("--interpolate walks between images; this run learned points.")
    if suffix not in accepted:
        raise UserError(
            f"--out {out_file} has suffix {out_file.suffix!r}; accepted here: "
            f"{', '.join(accepted)}."
        )
    engine, step = load_sampler(run)
    rng = np.random.default_rng(seed)
    if interpolate:
        from gankit.viz.images import latent_walk_gif

        latent_walk_gif(engine, max(n, 2), rng, out_file)
        out.print(f"wrote a walk through {max(n, 2)} latent points of step {step} to {out_file}")
        return
    from gankit.sampling import draw

    x, _ = draw(engine, n, rng)
    if suffix == ".npy":
        np.save(out_file, x)
    elif suffix == ".png":
        from gankit.viz.images import image_grid
        from gankit.viz.points import save_png

        save_png(image_grid(x), out_file)
    else:
        header = ",".join(f"x{i}" for i in range(x.shape[1]))
        np.savetxt(out_file, x, delimiter=",", header=header, comments="", fmt="%.7g")
    out.print(f"wrote {n} samples of step {step} to {out_file}")


@app.command()
def collect(
    game: Annotated[str, typer.Argument(help="An Atari game ale-py ships: breakout, pong, ...")],
    n: Annotated[int, typer.Option("-n", help="Frames to keep.")] = 12000,
    frameskip: Annotated[int, typer.Option(help="Emulator frames per action.")] = 4,
    dedupe: Annotated[bool, typer.Option(help="Drop frames identical to a kept one.")] = True,
    seed: Annotated[int, typer.Option(help="Seed of the game and the random policy.")] = 0,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Also write the frames to this new .npy (never overwritten)."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Play GAME with a random policy (pressing FIRE to serve) and cache its frames for
    `gankit train`, draw a preview PNG of them and print the command that trains on them;
    presets on Atari data collect on first use by themselves."""
    from gankit.collect import run

    if n < 1 or frameskip < 1:
        raise UserError("-n and --frameskip take positive counts.")
    for line in run(game, n, frameskip, dedupe, seed, out_file, progress=not quiet):
        out.print(line, soft_wrap=True, markup=False)


@app.command()
def doctor(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Name what went wrong in a run (vanishing gradients, mode collapse, failure to converge,
    a discriminator that wins, divergence), with the evidence and commands to try."""
    from gankit.doctor import diagnose_run, to_json
    from gankit.run import RunDir

    findings = diagnose_run(RunDir.open(run).path)
    if as_json:
        print(json.dumps(to_json(findings), indent=2))
        return
    if not findings:
        out.print(f"{run}: no problem found in its metrics and scores.")
        return
    _print_findings(findings)


@app.command()
def report(run: Annotated[Path, typer.Argument(help="Run directory.")]) -> None:
    """Write RUN/report.html: the config, scores with their protocols, curves, the training
    GIF, real beside generated, the doctor's findings and a slider over the snapshots."""
    from gankit.report import write_report
    from gankit.run import RunDir

    out.print(str(write_report(RunDir.open(run).path)))


def _split_values(text: str) -> list[str]:
    """``1,20,100`` -> ["1", "20", "100"]; commas inside [...] stay (``[64,64],[128]``)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p.strip() for p in [*parts, cur] if p.strip()]


@app.command()
def sweep(
    preset: Annotated[str, typer.Argument(help="Preset name.")],
    grid: Annotated[
        list[str], typer.Option(help="key=v1,v2,... ; several --grid make a full product.")
    ],
    set_: SetOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Sweep directory.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed for every variant.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Train the variants of a grid, write one GIF with the runs side by side and a page
    comparing them (compare.html), and print their scores side by side."""
    _one_process("sweep")
    from gankit.compare import load_runs, score_table
    from gankit.sweeps import run_sweep

    axes = []
    for g in grid:
        key, _ = parse_override(g.split("=", 1)[0] + "=0")
        values = _split_values(g.partition("=")[2])
        if not values:
            raise UserError(
                f"--grid {g} has no values; write it as key=v1,v2, like model.latent_dim=1,20."
            )
        axes.append([f"{'.'.join(key)}={v}" for v in values])

    def print_variant(label: str, summary: dict) -> None:
        out.print(f"[bold]variant[/] {label}")
        _print_finish(summary)

    result = run_sweep(preset, axes, set_, out_dir, seed, not quiet, print_variant)
    out.print(score_table(load_runs(result.runs, result.labels), f"sweep {result.root}"))
    out.print(f"sweep GIF  {result.gif}")
    out.print(f"comparison {result.compare}")


DEMO_BREAKOUT_STEPS = 3500


@app.command()
def demo(
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    only_sine: Annotated[
        bool, typer.Option(help="Skip the Breakout part (about 6 minutes).")
    ] = False,
) -> None:
    """Train two GANs on built-in data, a 2-D sine wave and Atari Breakout frames collected
    from the game, and print where their pictures and scores are."""
    _one_process("demo")
    from gankit import training
    from gankit.outputs import finish
    from gankit.run import next_run_dir

    out.print("[bold]gankit demo 1/2[/]: a GAN learns a 2-D sine wave (preset sine)")
    run = training.start(load_config("sine"), next_run_dir("runs", "demo-sine"), progress=not quiet)
    _print_finish(finish(run))
    out.print("open training.gif to watch it learn; curves.png for the losses.")
    if only_sine:
        return
    out.print(
        "\n[bold]gankit demo 2/2[/]: a GAN learns Atari Breakout frames played by a random "
        "policy (preset breakout-fast; frames are collected on first use)"
    )
    # breakout-fast cut to 3,500 steps (its learning rate decays over those), so the whole
    # demo stays under 10 minutes on 2 cores; `gankit train breakout-fast` runs its 6,500
    cfg = load_config("breakout-fast", [f"train.steps={DEMO_BREAKOUT_STEPS}"])
    run = training.start(cfg, next_run_dir("runs", "demo-breakout"), progress=not quiet)
    summary = finish(run)
    _print_finish(summary)
    out.print(
        f"a real frame beside a generated one after every snapshot: {run.snapshots}/step_*.png"
    )


@app.command()
def bench(
    presets: Annotated[
        list[str] | None, typer.Argument(help="Presets to time; none = every preset.")
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(help="Iterations per timed window; default: about a second's worth."),
    ] = None,
    batch: Annotated[int | None, typer.Option(help="Batch size; default: the preset's.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    set_: SetOpt = None,
    ablate: Annotated[
        bool, typer.Option(help="Time each fast path's own gain instead (train.fast_paths).")
    ] = False,
) -> None:
    """Time gankit's training loop against a plain PyTorch loop on the preset's networks:
    one JSON line per preset. images/s = iterations/s x batch x d_steps (real images D
    consumes per second), steps/s for points; image data is random (speed only). With
    --ablate: the torch engine with each fast path off in turn, and each one's gain."""
    from gankit.bench import bench as run_bench

    rows = run_bench(presets or preset_names(), steps, batch, device, set_, ablate)
    for row in rows:
        print(json.dumps(row), flush=True)


@app.command()
def lab(
    port: Annotated[int, typer.Option(help="Port to serve the page on.")] = 8765,
    host: Annotated[
        str, typer.Option(help="Address to bind; the default lets only this machine in.")
    ] = "127.0.0.1",
    no_open: Annotated[bool, typer.Option("--no-open", help="Do not open a browser.")] = False,
) -> None:
    """Train a GAN live in the browser: every view, control and diagnosis as it learns
    (docs/lab.md). Ctrl-C stops it."""
    from gankit.lab.command import serve

    serve(host, port, open_page=not no_open)


def main(argv: list[str] | None = None) -> None:
    """The command line; how each way of ending is said: gankit/cli_exit.py."""
    run_app(app, argv)


# the commands on finished runs live in their own module; importing it adds them to `app`
from gankit import cli_runs  # noqa: E402, F401

if __name__ == "__main__":
    main()
