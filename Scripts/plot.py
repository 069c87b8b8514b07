#!/usr/bin/env python3
"""Plot a model-collapse result: the mean of each metric over generations, per variant.

Reads <dir>/summary.csv (format: docs/OUTPUTS.md) and writes one figure per metric to
<dir>/figures/<metric>.<format>, plus summary-grid.<format> with every chosen metric when there
are several. Needs matplotlib and pandas: `Scripts/setup.sh --plot` installs them into .venv,
and this script re-runs itself with .venv/bin/python when the running interpreter lacks them.
"""

import argparse
import math
import os
import sys
from pathlib import Path

PROG = "plot.py"
REPO = Path(__file__).resolve().parent.parent
FORMATS = ("png", "svg", "pdf")
LOG_CHOICES = ("auto", "x", "y", "both", "none")
REQUIRED_COLUMNS = ("variant", "generation", "metric", "mean", "ci_low", "ci_high")
NUMERIC_COLUMNS = ("mean", "ci_low", "ci_high", "theory")
# Per-figure geometry, fixed so that the output does not depend on the data or the machine.
FIGURE_SIZE = (8.0, 5.0)
PANEL_SIZE = (5.0, 3.6)
DPI = 150
# Line styles for the swept keys that --by does not colour by. Dashed ("--") is kept for theory.
LINE_STYLES = ["-", ":", "-.", (0, (6, 2, 1, 2, 1, 2)), (0, (1, 4)), (0, (8, 3))]
THEORY_STYLE = "--"
DEGENERATE_LABEL = "fraction of chains degenerate"

DESCRIPTION = """\
Plot summary.csv of a model-collapse result: for every metric, one line per variant with the
mean over replicate chains against the generation, a shaded band for its 95 % confidence
interval (ci_low..ci_high) and, where summary.csv has a theory value, the closed-form
expectation as a dashed line in the variant's colour. The metric `degenerate` is drawn as the
fraction of chains whose fit was degenerate.

Figures go to <dir>/figures/<metric>.png and .svg (see --out, --format); with several metrics
also summary-grid.<format>, all metrics side by side. The files written are listed on stdout;
warnings (e.g. points skipped because the mean is inf or nan) go to stderr. Output is
deterministic: the same summary.csv gives the same bytes (fixed size and DPI, no dates in the
metadata, fixed SVG id salt) with the same matplotlib version."""

EPILOG = """\
axis scales (--log):
  auto   linear x; log y for a metric whose plotted values (finite means and theory values)
         are all positive and span more than two decades (largest / smallest > 100), linear
         otherwise. `degenerate` (a fraction) always stays linear.
  y      log y for every metric (points <= 0 cannot be shown and are reported).
  x      log x: generations on a symmetric log scale, linear between 0 and 1, so that
         generation 0 stays visible; linear y.
  both   log x and log y as above.
  none   linear axes.

requirements: matplotlib and pandas. `Scripts/setup.sh --plot` installs them into the
repository's .venv; when the running python lacks them, plot.py re-runs itself with
.venv/bin/python if that exists.

exit status: 0 success, 1 missing or unreadable files (or matplotlib/pandas missing),
2 bad arguments (unknown metric, --by key that is not swept, unknown format).

examples:
  python Scripts/plot.py Results/mixing-ratio-gaussian
  python Scripts/plot.py Results/mixing-ratio-gaussian --metric variance w2 --by regime.real_fraction
  python Scripts/plot.py Results/mixing-ratio-gaussian --format svg --out /tmp/figs --log none"""


def warn(message):
    print(f"{PROG}: {message}", file=sys.stderr)


def fail(message, code=1):
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(code)


def split_list(values):
    """Flattens repeated and comma-separated option values, keeping order, dropping repeats."""
    out = []
    for value in values or []:
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


class Parser(argparse.ArgumentParser):
    def error(self, message):
        # `--metric a b DIR` lets --metric swallow DIR: say how to write it instead.
        if "required: DIR" in message and "--metric" in sys.argv[1:]:
            message += " (give DIR before --metric)"
        super().error(message)


def build_parser():
    parser = Parser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", metavar="DIR",
                        help="result directory holding summary.csv (e.g. Results/<name>)")
    parser.add_argument("--metric", metavar="M", nargs="+", action="extend", default=[],
                        help="metrics to plot (space- or comma-separated, repeatable); default: "
                             "every metric in summary.csv, in its order")
    parser.add_argument("--by", metavar="KEY",
                        help="colour the lines by this swept key (e.g. regime.real_fraction) and "
                             "tell the other swept keys apart by line style; default: one colour "
                             "per variant")
    parser.add_argument("--out", metavar="OUTDIR", help="output folder (default: DIR/figures)")
    parser.add_argument("--format", metavar="FMT", default="png,svg",
                        help=f"comma-separated file formats out of {', '.join(FORMATS)} "
                             "(default: png,svg)")
    parser.add_argument("--log", choices=LOG_CHOICES, default="auto",
                        help="axis scales, see below (default: auto)")
    return parser


def import_plotting():
    """Imports pandas and matplotlib (Agg), re-running under the repository's .venv if needed."""
    try:
        import matplotlib
        import pandas
    except ImportError as error:
        venv_python = REPO / ".venv" / "bin" / "python"
        in_venv = Path(sys.prefix).resolve() == (REPO / ".venv").resolve()
        if venv_python.exists() and not in_venv and not os.environ.get("MODEL_COLLAPSE_PLOT_REEXEC"):
            os.environ["MODEL_COLLAPSE_PLOT_REEXEC"] = "1"
            os.execv(str(venv_python), [str(venv_python), str(Path(__file__).resolve())] + sys.argv[1:])
        fail(f"{error.name or error} is not installed for {sys.executable}; run "
             "Scripts/setup.sh --plot and use .venv/bin/python Scripts/plot.py")
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (after choosing the backend)
    return pandas, matplotlib


def experiment_name(directory):
    """The config's `name` from manifest.json (config.text), else the folder name."""
    import json
    manifest = directory / "manifest.json"
    try:
        text = json.loads(manifest.read_text(encoding="utf-8"))["config"]["text"]
    except (OSError, ValueError, KeyError, TypeError):
        return directory.resolve().name
    for line in str(text).splitlines():
        if line.startswith("name:"):  # a top-level key, not indented
            value = line[len("name:"):].split(" #", 1)[0].strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            if value:
                return value
    return directory.resolve().name


def to_float(text, line, column, path):
    text = text.strip()
    if text == "":
        return math.nan
    try:
        return float(text)  # accepts inf, -inf and nan as written by collapse
    except ValueError:
        fail(f"{path}:{line}: column {column}: '{text}' is not a number")


def read_summary(pandas, path):
    """summary.csv as a DataFrame with typed columns, and the swept keys (its columns between
    `variant` and `generation`)."""
    try:
        frame = pandas.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as error:
        fail(f"cannot read {path}: {error}")
    columns = list(frame.columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing or columns[0] != "variant":
        fail(f"{path} is not a model-collapse summary.csv (missing columns: "
             f"{', '.join(missing) or 'variant must come first'}); see docs/OUTPUTS.md")
    if frame.empty:
        fail(f"{path} has no rows")
    swept = columns[1:columns.index("generation")]
    if "theory" not in columns:
        frame["theory"] = ""
    for column in ("variant", "generation"):
        for i, value in enumerate(frame[column]):
            if not value.strip().lstrip("-").isdigit():
                fail(f"{path}:{i + 2}: column {column}: '{value}' is not an integer")
        frame[column] = frame[column].astype(int)
    for column in NUMERIC_COLUMNS:
        frame[column] = [to_float(v, i + 2, column, path) for i, v in enumerate(frame[column])]
    return frame, swept


class Styler:
    """Colour, line style and legend label of every variant, the same in every figure."""

    def __init__(self, matplotlib, frame, swept, by):
        variants = frame.drop_duplicates("variant").sort_values("variant", kind="stable")
        self.values = {int(row["variant"]): {k: row[k] for k in swept} for _, row in variants.iterrows()}
        self.order = list(self.values)
        self.swept = swept
        self.by = by
        self.style = {}
        self.colour = {}
        self.label = {}
        self.legend_entries = []  # (label, colour, linestyle)
        if by is None:
            palette = self._palette(matplotlib, len(self.order))
            for i, v in enumerate(self.order):
                self.colour[v] = palette[i]
                self.style[v] = "-"
                self.label[v] = self._label(v, swept) if swept else ("mean" if len(self.order) == 1 else f"variant {v}")
                self.legend_entries.append((self.label[v], self.colour[v], "-"))
        else:
            others = [k for k in swept if k != by]
            by_values = _unique(self.values[v][by] for v in self.order)
            other_values = _unique(tuple(self.values[v][k] for k in others) for v in self.order)
            palette = self._palette(matplotlib, len(by_values))
            if len(other_values) > len(LINE_STYLES):
                warn(f"{len(other_values)} combinations of {', '.join(others)} but only "
                     f"{len(LINE_STYLES)} line styles: some repeat")
            for v in self.order:
                self.colour[v] = palette[by_values.index(self.values[v][by])]
                combo = tuple(self.values[v][k] for k in others)
                self.style[v] = LINE_STYLES[other_values.index(combo) % len(LINE_STYLES)]
                self.label[v] = self._label(v, swept)
            for i, value in enumerate(by_values):
                self.legend_entries.append((f"{by}={value}", palette[i], "-"))
            if others and len(other_values) > 1:
                for i, combo in enumerate(other_values):
                    label = ", ".join(f"{k}={x}" for k, x in zip(others, combo))
                    self.legend_entries.append((label, "0.25", LINE_STYLES[i % len(LINE_STYLES)]))

    def _label(self, v, keys):
        return ", ".join(f"{k}={self.values[v][k]}" for k in keys)

    @staticmethod
    def _palette(matplotlib, count):
        if count <= 10:
            return [matplotlib.colormaps["tab10"](i) for i in range(count)]
        if count <= 20:
            return [matplotlib.colormaps["tab20"](i) for i in range(count)]
        cmap = matplotlib.colormaps["viridis"]
        return [cmap(i / (count - 1)) for i in range(count)]


def _unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def finite(x):
    return isinstance(x, float) and math.isfinite(x)


def choose_log_y(mode, metric, rows):
    if mode in ("y", "both"):
        return True
    if mode != "auto" or metric == "degenerate":
        return False
    values = [x for x in list(rows["mean"]) + list(rows["theory"]) if finite(x)]
    if not values or min(values) <= 0:
        return False
    return max(values) / min(values) > 100


class MetricPlot:
    """What is drawn for one metric; reports skipped points once, however often it is drawn."""

    def __init__(self, frame, metric, styler, log_mode):
        self.metric = metric
        self.rows = frame[frame["metric"] == metric].sort_values(["variant", "generation"], kind="stable")
        self.styler = styler
        self.log_x = log_mode in ("x", "both")
        self.log_y = choose_log_y(log_mode, metric, self.rows)
        if self.log_y and not any(finite(x) and x > 0 for x in list(self.rows["mean"]) + list(self.rows["theory"])):
            warn(f"{metric}: no positive values to show on a log y axis; using a linear one")
            self.log_y = False
        self.has_theory = False
        self.report()

    def report(self):
        rows = self.rows
        bad = rows[[not finite(x) for x in rows["mean"]]]
        if len(bad):
            kinds = {}
            for x in bad["mean"]:
                name = "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
                kinds[name] = kinds.get(name, 0) + 1
            where = []
            for v, group in bad.groupby("variant", sort=True):
                label = self.styler.label[v] or f"variant {v}"
                gens = ", ".join(str(g) for g in group["generation"])
                where.append(f"{label} (variant {v}) at generation {gens}" if self.styler.swept
                             else f"variant {v} at generation {gens}")
            counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            warn(f"{self.metric}: skipped {len(bad)} of {len(rows)} points whose mean is not finite "
                 f"({counts}): {'; '.join(where)}")
        if self.log_y:
            values = [x for x in list(rows["mean"]) + list(rows["theory"]) if finite(x) and x <= 0]
            if values:
                warn(f"{self.metric}: {len(values)} points <= 0 cannot be shown on the log y axis")

    def draw(self, ax, ticker):
        plain = ticker.FuncFormatter(lambda x, _: f"{x:g}")
        for v in self.styler.order:
            rows = self.rows[self.rows["variant"] == v]
            if rows.empty:
                continue
            colour, style = self.styler.colour[v], self.styler.style[v]
            gens = list(rows["generation"])
            means = list(rows["mean"])
            low, high = list(rows["ci_low"]), list(rows["ci_high"])
            ok_band = [finite(a) and finite(b) and finite(m) for a, b, m in zip(low, high, means)]
            if self.metric == "degenerate":  # a fraction: keep the band inside [0, 1]
                low = [min(max(a, 0.0), 1.0) if finite(a) else a for a in low]
                high = [min(max(b, 0.0), 1.0) if finite(b) else b for b in high]
            if any(ok_band):
                ax.fill_between(gens, [a if k else math.nan for a, k in zip(low, ok_band)],
                                [b if k else math.nan for b, k in zip(high, ok_band)],
                                where=ok_band, color=colour, alpha=0.18, linewidth=0, interpolate=False)
            points = [(g, m) for g, m in zip(gens, means) if finite(m)]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, color=colour, linestyle=style, linewidth=1.8,
                        marker="o" if len(gens) <= 25 else None, markersize=3.5)
            theory = [(g, t) for g, t in zip(gens, rows["theory"]) if finite(t)]
            if theory:
                self.has_theory = True
                xs, ys = zip(*theory)
                ax.plot(xs, ys, color=colour, linestyle=THEORY_STYLE, linewidth=1.2, alpha=0.9)
        ax.set_xlabel("generation")
        ax.set_ylabel(DEGENERATE_LABEL if self.metric == "degenerate" else self.metric)
        if self.metric == "degenerate":
            ax.set_ylim(-0.02, 1.02)
        if self.log_x:
            ax.set_xscale("symlog", linthresh=1, linscale=0.5)
            ax.xaxis.set_major_locator(ticker.SymmetricalLogLocator(base=10, linthresh=1, subs=[1, 2, 5]))
            ax.xaxis.set_major_formatter(plain)
        else:
            ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        if self.log_y:
            ax.set_yscale("log")
            shown = [x for x in list(self.rows["mean"]) + list(self.rows["theory"]) if finite(x) and x > 0]
            if shown and max(shown) / min(shown) < 10:  # within a decade: label 0.9, 1, 1.1 plainly
                ax.yaxis.set_major_formatter(plain)
                ax.yaxis.set_minor_formatter(plain)
        ax.grid(True, which="major", color="0.88", linewidth=0.6)
        ax.set_axisbelow(True)


def legend_handles(styler, any_theory):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Line2D([], [], color=c, linestyle=s, linewidth=1.8, label=label)
               for label, c, s in styler.legend_entries]
    handles.append(Patch(facecolor="0.5", alpha=0.3, linewidth=0, label="95 % CI of the mean"))
    if any_theory:
        handles.append(Line2D([], [], color="0.25", linestyle=THEORY_STYLE, linewidth=1.2, label="theory"))
    return handles


def save(fig, stem, formats, title):
    written = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        # No dates, so that the bytes depend on the data alone; the title helps file browsers.
        metadata = {"png": {"Title": title}, "svg": {"Date": None, "Title": title},
                    "pdf": {"CreationDate": None, "ModDate": None, "Title": title}}[fmt]
        fig.savefig(path, format=fmt, dpi=DPI, metadata=metadata)
        written.append(path)
    return written


def file_stem(metric):
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in metric)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    metrics_asked = split_list(args.metric)
    formats = split_list([args.format])
    unknown_formats = [f for f in formats if f not in FORMATS]
    if unknown_formats or not formats:
        parser.error(f"unknown format '{', '.join(unknown_formats)}' (choose from {', '.join(FORMATS)})")

    directory = Path(args.directory)
    if not directory.is_dir():
        fail(f"no such directory: {directory}" if not directory.exists() else f"not a directory: {directory}")
    summary = directory / "summary.csv"
    if not summary.is_file():
        fail(f"{summary} not found (run `collapse run CONFIG` or `collapse summarize {directory}` first)")

    pandas, matplotlib = import_plotting()
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    frame, swept = read_summary(pandas, summary)
    available = _unique(frame["metric"])
    for metric in metrics_asked:
        if metric not in available:
            parser.error(f"unknown metric '{metric}' in {summary}; available: {', '.join(available)}")
    metrics = metrics_asked or available
    if args.by is not None and args.by not in swept:
        if swept:
            parser.error(f"--by {args.by}: not a swept key of this experiment; swept keys: {', '.join(swept)}")
        parser.error(f"--by {args.by}: this experiment has no swept keys")

    matplotlib.rcParams.update({
        "svg.hashsalt": "model-collapse",  # stable SVG ids, hence identical bytes per run
        "svg.fonttype": "path",
        "font.family": "DejaVu Sans",       # bundled with matplotlib: no dependence on system fonts
        "font.size": 10,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "path.simplify": True,
    })
    name = experiment_name(directory)
    out = Path(args.out) if args.out else directory / "figures"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"cannot create {out}: {error}")

    styler = Styler(matplotlib, frame, swept, args.by)
    plots = [MetricPlot(frame, m, styler, args.log) for m in metrics]
    written = []
    try:
        for plot in plots:
            fig, ax = plt.subplots(figsize=FIGURE_SIZE, layout="constrained")
            plot.draw(ax, ticker)
            title = f"{name}: {DEGENERATE_LABEL if plot.metric == 'degenerate' else plot.metric}"
            ax.set_title(title)
            handles = legend_handles(styler, plot.has_theory)
            if len(handles) <= 7:
                ax.legend(handles=handles, loc="best", fontsize=8.5, framealpha=0.9)
            else:
                fig.legend(handles=handles, loc="outside right upper", fontsize=8.5, frameon=False)
            written += save(fig, out / file_stem(plot.metric), formats, title)
            plt.close(fig)
        if len(plots) > 1:
            columns = min(3, len(plots)) if len(plots) != 4 else 2
            rows = math.ceil(len(plots) / columns)
            fig, axes = plt.subplots(rows, columns, squeeze=False, layout="constrained",
                                     figsize=(PANEL_SIZE[0] * columns + 2.6, PANEL_SIZE[1] * rows + 0.5))
            for ax, plot in zip(axes.flat, plots):
                plot.draw(ax, ticker)
                ax.set_title(plot.metric)
            for ax in list(axes.flat)[len(plots):]:
                ax.set_visible(False)
            fig.suptitle(name)
            fig.legend(handles=legend_handles(styler, any(p.has_theory for p in plots)),
                       loc="outside right upper", fontsize=8.5, frameon=False)
            written += save(fig, out / "summary-grid", formats, name)
            plt.close(fig)
    except OSError as error:
        fail(f"cannot write figures to {out}: {error}")
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
