"""Engines that run forecasting work units: ``local`` (this process) and ``dask`` (a dask.distributed cluster).

Both run the same pure function on the same inputs; randomness comes only from seeds carried by the inputs, so
the two engines return identical results for the same seed.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence

from finops_forecast.errors import ForecastError, unknown_name

__all__ = ["ENGINES", "run_tasks"]

ENGINES = ("local", "dask")


def _progress(total: int, description: str, show: bool | None):
    """A rich progress bar, or None. ``show=None`` shows it on runs of 50 tasks or more."""
    if show is None:
        show = total >= 50
    if not show:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(file=sys.stderr), transient=False)


def run_tasks(fn: Callable, tasks: Sequence, *, engine: str = "local", address=None, n_workers: int = 2,
              progress: bool | None = None, description: str = "forecast", chunk_size: int | None = None) -> list:
    """Apply ``fn`` to every task and return the results in task order.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function of one task.
    tasks : sequence
        The work units.
    engine : {"local", "dask"}
        "local" runs in this process; "dask" submits chunks of tasks to a dask.distributed cluster.
    address : str, dask.distributed.Client or None
        For "dask": a scheduler address ("tcp://host:8786") or a connected Client; None starts a
        ``LocalCluster`` of ``n_workers`` single-threaded worker processes for this call and closes it after.
    n_workers : int
        Workers of the LocalCluster started when ``address`` is None.
    progress : bool or None
        Show a rich progress bar on stderr; None shows it for runs of 50 tasks or more.
    chunk_size : int or None
        Tasks per dask task; default spreads the tasks in about 4 chunks per worker.
    """
    if engine not in ENGINES:
        raise unknown_name("engine", engine, ENGINES)
    tasks = list(tasks)
    bar = _progress(len(tasks), description, progress)
    if engine == "local":
        out = []
        with _one_blas_thread():
            if bar is None:
                return [fn(t) for t in tasks]
            with bar:
                tid = bar.add_task(description, total=len(tasks))
                for t in tasks:
                    out.append(fn(t))
                    bar.advance(tid)
        return out
    return _run_dask(fn, tasks, address=address, n_workers=n_workers, bar=bar, description=description,
                     chunk_size=chunk_size)


@contextlib.contextmanager
def _one_blas_thread():
    """Run the local engine with one BLAS thread when threadpoolctl is installed.

    The models fit small arrays: a multi-threaded OpenBLAS only adds synchronisation, and on a busy 2-core
    machine it made 1,000 ETS fits ~3x slower. Dask workers already run with one BLAS thread each.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it the BLAS keeps its own setting (OPENBLAS_NUM_THREADS)
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _apply_chunk(fn, chunk):
    return [fn(t) for t in chunk]


def _run_dask(fn, tasks, *, address, n_workers, bar, description, chunk_size, connect_timeout="10s"):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a declared extra
        raise ForecastError("engine='dask' needs dask.distributed: pip install 'finops_forecast[dask]'.") from exc
    cluster = client = None
    own = False
    if address is None:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
        own = True
    elif isinstance(address, Client):
        client = address
    else:
        try:
            client = Client(address, timeout=connect_timeout)
        except OSError as exc:
            raise ForecastError(f"Could not connect to the dask scheduler at {address!r} ({exc}). Check the "
                                "address, or pass address=None to start a LocalCluster.") from exc
        own = True
    try:
        n = len(tasks)
        workers = max(1, len(client.scheduler_info().get("workers", {})) or n_workers)
        size = chunk_size or max(1, -(-n // (4 * workers)))
        chunks = [tasks[i:i + size] for i in range(0, n, size)]
        futures = client.map(_apply_chunk, [fn] * len(chunks), chunks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results = [None] * len(chunks)
        if bar is not None:
            bar.start()
            tid = bar.add_task(description + " (dask)", total=n)
        for fut in as_completed(futures):
            i = index[fut.key]
            results[i] = fut.result()
            if bar is not None:
                bar.advance(tid, len(chunks[i]))
        if bar is not None:
            bar.stop()
        return [r for chunk in results for r in chunk]
    finally:
        if own:
            client.close()
        if cluster is not None:
            cluster.close()
