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
              progress: bool | None = None, description: str = "forecast", chunk_size: int | None = None,
              collect: Callable | None = None) -> list:
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
    collect : callable or None
        ``collect(i, result)`` is called on each result as soon as it is in this process (``i`` its task's
        position), and what it returns is kept in its place: e.g. copy a large array into a preallocated
        one and keep the rest, so that the results are never all held at once beside their stack.
    """
    if engine not in ENGINES:
        raise unknown_name("engine", engine, ENGINES)
    tasks = list(tasks)
    bar = _progress(len(tasks), description, progress)
    keep = collect or (lambda i, r: r)
    if engine == "local":
        out = []
        with _one_blas_thread():
            if bar is None:
                return [keep(i, fn(t)) for i, t in enumerate(tasks)]
            with bar:
                tid = bar.add_task(description, total=len(tasks))
                for i, t in enumerate(tasks):
                    out.append(keep(i, fn(t)))
                    bar.advance(tid)
        return out
    return _run_dask(fn, tasks, address=address, n_workers=n_workers, bar=bar, description=description,
                     chunk_size=chunk_size, keep=keep)


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


def _run_dask(fn, tasks, *, address, n_workers, bar, description, chunk_size, keep, connect_timeout="10s"):
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
        first = list(range(0, n, size))  # position of each chunk's first task
        results = [None] * len(chunks)
        if bar is not None:
            bar.start()
            tid = bar.add_task(description + " (dask)", total=n)
        for fut in as_completed(futures):
            i = index[fut.key]
            results[i] = [keep(first[i] + j, r) for j, r in enumerate(fut.result())]
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


class Beside:
    """Run one function on a Dask worker process beside this one and collect its result later.

    The report uses it to replay the track record on the second core while this process forecasts and
    optimizes the plan. A ``LocalCluster`` of one single-threaded worker process is started for the job and
    closed when the result is collected. With ``workers < 2``, or when Dask cannot start a cluster here, the
    function runs in this process when the result is asked for, and :attr:`note` says why.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function.
    *args, **kwargs
        Its arguments (sent to the worker once).
    workers : int
        Processes the job may use beside this one's; below 2 the job runs here.
    """

    def __init__(self, fn: Callable, *args, workers: int = 2, **kwargs):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.note = ""
        self._client = self._cluster = self._future = None
        if workers < 2:
            self.note = "computed in this process (workers = 1)"
            return
        if not _spawn_safe():
            self.note = ("computed in this process: a worker process would re-run this script's top-level code "
                         "(run it from a notebook, with `python -m`, or call with workers=1)")
            return
        try:
            import logging

            from distributed import Client, LocalCluster

            self._cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                         dashboard_address=":0", silence_logs=logging.ERROR)
            self._client = Client(self._cluster, set_as_default=False)
            # the data go to the worker once, ahead of the task (not embedded in the task graph)
            sent = self._client.scatter(list(args), broadcast=False) if args else []
            self._future = self._client.submit(fn, *sent, pure=False, **kwargs)
        except Exception as exc:  # no Dask, or no processes here: the same work, in this process
            self.close()
            self.note = f"computed in this process (Dask could not start a worker: {type(exc).__name__})"

    def result(self):
        """The function's result (its exception is raised here, as if it had run in this process)."""
        if self._future is None:
            return self.fn(*self.args, **self.kwargs)
        try:
            return self._future.result()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the worker (idempotent)."""
        for obj in (self._client, self._cluster):
            if obj is not None:
                with contextlib.suppress(Exception):
                    obj.close()
        self._client = self._cluster = self._future = None


def _spawn_safe() -> bool:
    """Whether a spawned worker process can start without re-running this program's top-level code.

    A spawned process imports the parent's ``__main__``: a notebook kernel, ``python -m ...`` or an interactive
    session is imported by module name (their code is guarded); a plain ``python script.py`` is re-run from its
    path, top-level code included, unless the script guards it, which cannot be checked. A worker never starts
    workers of its own.
    """
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        return False
    main = sys.modules.get("__main__")
    return main is None or getattr(main, "__spec__", None) is not None or not hasattr(main, "__file__")
