"""Render parameterized notebooks into reports with papermill and nbconvert.

:func:`render_report` never executes a notebook in place and never leaves a half-written report:

1. the template notebook (shipped in the package) is executed by papermill into a new temporary folder beside
   the destination, with the parameters injected and ``output_dir`` pointing at that folder;
2. the executed notebook is converted to ``report.html`` (inputs hidden, charts embedded as inline SVG, one
   self-contained page with no external script, style or font);
3. only then is the temporary folder moved into place as ``<output_root>/<quarter>/``, replacing the previous
   report in one rename. For ``quarter="next"`` the quarter is the one the notebook planned, as its
   ``plan.json`` records it: the usage is loaded once, in the notebook.

A run that fails keeps the executed notebook as ``<output_root>/<quarter>/failed-<timestamp>.ipynb`` (the
failing cell marked by papermill), leaves the last good report untouched and raises :class:`ReportError`
with the failing cell's error.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from finops_forecast._io import atomic_write_text
from finops_forecast.errors import FinopsError
from finops_forecast.report.params import ReportParams
from finops_forecast.report.safe import live_markup

NOTEBOOKS = ("quarterly_commitment_report", "demand_explorer", "policy_backtest", "showback")


class ReportError(FinopsError):
    """A report run failed; the message carries the failing cell's error and where the failed notebook is."""

    def __init__(self, message: str, failed_notebook: Path | None = None):
        super().__init__(message)
        self.failed_notebook = failed_notebook


@dataclass(frozen=True)
class RenderedReport:
    """Files of a rendered report.

    Attributes
    ----------
    folder : Path
        ``<output_root>/<quarter>``.
    notebook, html : Path
        The executed notebook and ``report.html``.
    seconds : float
        Wall time of the run [s].
    """

    folder: Path
    notebook: Path
    html: Path
    seconds: float

    @property
    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.is_file())


def notebook_path(name: str = "quarterly_commitment_report") -> Path:
    """Path of a bundled notebook template (shipped inside the package)."""
    if name not in NOTEBOOKS:
        from finops_forecast.errors import unknown_name
        raise unknown_name("notebook", name, NOTEBOOKS)
    from finops_forecast._data import notebooks_dir
    return notebooks_dir() / f"{name}.ipynb"


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 1.5em 2em 4em; color: #1f2933; line-height: 1.45; }}
h1 {{ border-bottom: 2px solid #1f4e79; padding-bottom: .3em; color: #1f4e79; }}
h2 {{ margin-top: 2em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; color: #1f4e79; }}
table {{ border-collapse: collapse; margin: .8em 0; font-size: .9em; }}
th, td {{ border: 1px solid #d0d7de; padding: .3em .6em; text-align: right; }}
th {{ background: #f0f4f8; }}
td:first-child, th:first-child {{ text-align: left; }}
pre {{ background: #f6f8fa; padding: .6em; overflow-x: auto; font-size: .85em; }}
.output_stream {{ display: none; }}  /* solver banners and log lines: the report shows results, not logs */
table {{ font-size: .82em; display: block; max-width: 100%; overflow-x: auto; }}  /* wide tables scroll, not spill */
.jp-RenderedSVG svg, .output_svg svg {{ max-width: 100%; height: auto; }}
.anchor-link {{ display: none; }}
td {{ vertical-align: top; }}
.callout {{ background: #eef6ee; border-left: 4px solid #2e7d32; padding: .6em 1em; }}
.warning {{ background: #fff6e5; border-left: 4px solid #b26a00; padding: .6em 1em; }}
</style></head>
<body>
{body}
<footer><p style="color:#6b7785;font-size:.8em">Rendered by finops_forecast {version} on {when} from {notebook}.
</p></footer>
</body></html>
"""

_EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=\s*["']?https?://""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+url\(\s*['\"]?https?://|url\(\s*['\"]?https?://", re.IGNORECASE)


def external_references(html: str) -> list[str]:
    """Scripts, styles, fonts or images the page would fetch from the network (should be empty)."""
    return [m.group(0) for m in _EXTERNAL.finditer(html)] + [m.group(0) for m in _CSS_IMPORT.finditer(html)]


def notebook_to_html(notebook: Path, title: str) -> str:
    """Convert an executed notebook into one self-contained HTML page with the code cells hidden."""
    import nbformat
    from nbconvert import HTMLExporter

    from finops_forecast._version import __version__

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    html = _PAGE.format(title=title, body=body, version=__version__, notebook=notebook.name,
                        when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    found = external_references(html)
    if found:
        raise ReportError(f"the rendered HTML would load external resources {found[:3]}; a report must open "
                          f"offline. Embed charts as SVG (finops_forecast.report.charts.show).")
    live = live_markup(html)
    if live:
        raise ReportError(f"the rendered HTML of {notebook.name} holds live markup {live[:3]}: a user string "
                          f"(team, tag, model, pool or file name) reached the page unescaped. Show it through "
                          f"finops_forecast.report.safe (md_text for Markdown, safe_style for tables).")
    return html


def _cell_error(exc: Exception) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    cell = getattr(exc, "exec_count", None)
    return f"{ename}: {evalue}" + (f" (cell {cell})" if cell else "")


def _kill_kernel(km) -> None:
    """Kill a notebook's kernel process at once (after Ctrl-C or SIGTERM; it may be busy in a cell)."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    with contextlib.suppress(Exception):
        km.cleanup_connection_file()


def execute_notebook(name: str, params: dict, folder: Path, kernel_name: str | None = None,
                     progress: bool = False) -> Path:
    """Execute one bundled notebook with papermill into ``folder`` (never in place); the executed notebook.

    Raises
    ------
    papermill.PapermillExecutionError
        When a cell fails; the executed notebook (with the error) is already written in ``folder``.
    """
    import papermill as pm
    from jupyter_client.manager import AsyncKernelManager

    folder.mkdir(parents=True, exist_ok=True)
    out_nb = folder / f"{name}.ipynb"
    km = AsyncKernelManager(kernel_name=kernel_name or "python3")
    try:
        pm.execute_notebook(str(notebook_path(name)), str(out_nb), parameters=params, cwd=str(folder),
                            kernel_name=kernel_name or "python3", progress_bar=progress, log_output=False,
                            request_save_on_cell_execute=False, km=km)
    except (KeyboardInterrupt, SystemExit):
        _kill_kernel(km)  # interrupted: the client's own cleanup did not run, the kernel would outlive us
        raise
    return out_nb


def write_html(notebook: Path, title: str) -> Path:
    """Convert an executed notebook into its HTML page beside it (``report.html`` for the quarterly report)."""
    name = notebook.stem
    html = notebook.parent / ("report.html" if name == "quarterly_commitment_report" else f"{name}.html")
    atomic_write_text(html, notebook_to_html(notebook, title))
    return html


def render_report(params: ReportParams | dict | None = None, output_root: str | os.PathLike = "reports",
                  kernel_name: str | None = None, progress: bool = False) -> RenderedReport:
    """Render the quarterly commitment report into ``<output_root>/<quarter>/``.

    Parameters
    ----------
    params : ReportParams or dict, optional
        Report parameters (validated); defaults plan the next quarter of the bundled sample.
    output_root : path, default "reports"
        Folder that holds one sub-folder per quarter.
    kernel_name : str, optional
        Jupyter kernel to run the notebook in (default ``python3``, the environment's own).
    progress : bool
        Show papermill's progress bar.

    Returns
    -------
    RenderedReport

    Raises
    ------
    ReportError
        When the notebook fails; the failed notebook is kept as ``failed-<timestamp>.ipynb`` in the quarter's
        folder and the previous report is left as it was.
    """
    import papermill as pm

    if params is None:
        params = ReportParams()
    elif isinstance(params, dict):
        params = ReportParams.from_mapping(params)
    if params.output_dir != ".":
        from finops_forecast.report.params import ReportParamsError
        raise ReportParamsError(f"parameter 'output_dir' = {params.output_dir!r}: render_report writes the report "
                                "into <output_root>/<quarter>/ and sets output_dir itself. Remove output_dir and "
                                "pass output_root (finops-forecast report --output FOLDER) instead; output_dir is "
                                "for running the notebook with papermill directly.")
    quarter = params.quarter  # "next" is resolved by the notebook, from the usage it loads (once)
    root = Path(output_root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    tmp = root / f".tmp-{quarter}-{stamp}-{os.getpid()}"
    values = params.to_dict() | {"output_dir": "."}
    # paths given relative to the caller's working directory must survive the notebook's cwd
    for key in ("usage", "commitments", "planned_runs"):
        if values[key] not in ("", "sample") and not os.path.isabs(values[key]):
            values[key] = str(Path(values[key]).resolve())
    if values["pricing"]:
        values["pricing"] = ",".join(str(Path(p).resolve()) for p in params.pricing_files())
    t0 = time.perf_counter()
    try:
        nb = execute_notebook("quarterly_commitment_report", values, tmp, kernel_name=kernel_name,
                              progress=progress)
        quarter = written_quarter(tmp)
        html = write_html(nb, title=f"GPU commitment report {quarter}")
    except pm.PapermillExecutionError as exc:
        failed = _keep_failed(tmp, root / _failed_quarter(params), stamp)
        raise ReportError(f"the report for {failed.parent.name} failed: {_cell_error(exc)}. The failed notebook "
                          f"is {failed}; the last good report in {failed.parent} is unchanged.", failed) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    dest = root / quarter
    # swap into place: keep earlier failed-*.ipynb files, replace everything else in one rename
    old = root / f".old-{quarter}-{stamp}-{os.getpid()}"
    if dest.exists():
        for f in dest.glob("failed-*.ipynb"):
            shutil.move(str(f), tmp / f.name)
        dest.rename(old)
    tmp.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    return RenderedReport(folder=dest, notebook=dest / nb.name, html=dest / html.name,
                          seconds=time.perf_counter() - t0)


def written_quarter(folder: Path) -> str:
    """The quarter a report run planned, as its ``plan.json`` in ``folder`` records it."""
    import json

    plan = folder / "plan.json"
    if not plan.exists():
        raise ReportError(f"the report notebook ran but wrote no plan.json in {folder}: its first code cell must "
                          "write the outputs (present.write_outputs).")
    return str(json.loads(plan.read_text())["quarter"])


def _failed_quarter(params: ReportParams) -> str:
    """The folder name of a failed run: its quarter, ``"next"`` resolved when the usage can be read."""
    try:
        return resolve_quarter(params)
    except FinopsError:
        return params.quarter


def _keep_failed(tmp: Path, dest: Path, stamp: str) -> Path:
    """Move a failed run's executed notebook to ``dest/failed-<stamp>.ipynb`` and remove the run's folder."""
    dest.mkdir(parents=True, exist_ok=True)
    failed = dest / f"failed-{stamp}.ipynb"
    executed = tmp / "quarterly_commitment_report.ipynb"
    if executed.exists():
        shutil.move(str(executed), failed)
    shutil.rmtree(tmp, ignore_errors=True)
    return failed


def resolve_quarter(params: ReportParams) -> str:
    """The quarter a report plans: ``params.quarter``, or for ``"next"`` the one after the usage's last hour.

    Loads the usage for ``"next"``: :func:`render_report` calls it only to name the folder of a run that failed
    (a run that succeeds records its quarter in ``plan.json``).
    """
    if params.quarter != "next":
        return params.quarter
    from finops_forecast.report.analysis import load_report_usage
    from finops_forecast.report.params import next_quarter
    usage = load_report_usage(params)
    return next_quarter(usage["ts"].max())
