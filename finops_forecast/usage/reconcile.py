"""Where every input row went: the :class:`Reconciliation` every reader returns, and the rules that count a
delivery once.

- :class:`Reconciliation` and its totals (rows, GPU-hours [GPU-h], costs [USD]: ``input == output + rejected``).
- Input files: ``_resolve_files`` expands a file, folder or glob; :func:`drop_identical_files` reads a
  byte-identical copy once (SHA-256); ``_encoding_hint`` says when a CSV is not UTF-8.
- Duplicate deliveries: :func:`mark_duplicate_deliveries` flags a FOCUS row repeated in another file of the same
  input, and ``_duplicate_note`` reports what was dropped.

Shared by the readers (:mod:`.table`, :mod:`.jobs`, :mod:`.focus`) and the commitment inventory
(:mod:`.focus_commitments`).
"""
from __future__ import annotations

import glob as _glob
import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from finops_forecast.errors import UsageError
from finops_forecast.usage.focus_sql import _q
from finops_forecast.usage.schema import COST_COLUMNS

TOTAL_COLUMNS = ["rows", "gpu_hours"] + COST_COLUMNS
#: the file names every reader accepts
TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


@dataclass(frozen=True)
class Reconciliation:
    """Where every input row went.

    Attributes
    ----------
    source : str
        The input (file, folder or glob).
    kind : str
        ``usage``, ``focus`` or ``jobs``.
    totals : pandas.DataFrame
        Index ``input``, ``output``, ``rejected``; columns ``rows``, ``gpu_hours`` [GPU-h] and the cost columns
        [USD] (NaN where the input has no such column). ``rows`` counts input rows.
    rejected : pandas.DataFrame
        One row per (reason, detail): ``rows``, ``gpu_hours``, costs. Every rejected input row is counted here.
    rejected_rows : pandas.DataFrame
        Row-level detail (``file``, ``row``, ``reason``) of rejected rows that point at a data problem (not the
        rows that are simply not GPU usage), at most ``max_rejected_rows`` of them.
    notes : tuple of str
        Things the reader did that a user should know (apportioned multi-hour rows, unknown tag values...).
    """

    source: str
    kind: str
    totals: pd.DataFrame
    rejected: pd.DataFrame
    rejected_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()

    def differences(self) -> pd.Series:
        """``input - output - rejected`` per total column (0 when balanced)."""
        t = self.totals.fillna(0.0)
        return t.loc["input"] - t.loc["output"] - t.loc["rejected"]

    def is_balanced(self, tolerance: float = 0.005) -> bool:
        """True when GPU-hours and every cost column balance within ``tolerance`` [GPU-h or USD]."""
        d = self.differences()
        return bool((d.abs() <= tolerance).all())

    def summary(self) -> str:
        """A short text summary, as printed by ``finops-forecast ingest``."""
        t = self.totals
        lines = [f"{self.kind} {self.source}: {int(t.loc['input', 'rows']):,} rows in, "
                 f"{int(t.loc['output', 'rows']):,} used, {int(t.loc['rejected', 'rows']):,} rejected; "
                 f"GPU-hours in {t.loc['input', 'gpu_hours']:,.2f} = out {t.loc['output', 'gpu_hours']:,.2f} + "
                 f"rejected {t.loc['rejected', 'gpu_hours']:,.2f}; balanced: {self.is_balanced()}"]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _totals(inp: dict, out: dict, rej: dict) -> pd.DataFrame:
    frame = pd.DataFrame([inp, out, rej], index=["input", "output", "rejected"])
    return frame.reindex(columns=TOTAL_COLUMNS).astype(float)



def _resolve_files(path, suffixes: tuple[str, ...]) -> list[str]:
    """Expand a file, folder or glob into a sorted list of files; errors name what was looked for."""
    if isinstance(path, (list, tuple)):
        files = [f for p in path for f in _resolve_files(p, suffixes)]
        return sorted(dict.fromkeys(files))
    text = str(path)
    p = Path(text)
    if p.is_dir():
        files = sorted(str(f) for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(suffixes))
        if not files:
            raise UsageError(f"the folder has no {' / '.join(suffixes)} files.", path=text)
        return files
    if any(ch in text for ch in "*?["):
        files = sorted(_glob.glob(text, recursive=True))
        if not files:
            raise UsageError("the glob matches no file. Check the pattern and the working directory.", path=text)
        return files
    if not p.exists():
        raise UsageError("no such file. Check the path (relative paths start from the working directory).",
                         path=text)
    return [text]


def _is_parquet(files: list[str]) -> bool:
    kinds = {f.lower().endswith(".parquet") or f.lower().endswith(".pq") for f in files}
    if len(kinds) > 1:
        raise UsageError("the input mixes Parquet and CSV files; read them separately.", path=files[0])
    return kinds.pop()


def _file_digest(path: str) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks (bounded memory for multi-GB exports)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def drop_identical_files(files: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """Keep one of each set of byte-identical files (the same delivery copied twice).

    Parameters
    ----------
    files : list of str
        Files of one input, in reading order.

    Returns
    -------
    (files, notes) : (list of str, tuple of str)
        The files whose content was not seen before, in order, and one note per skipped copy naming it and the
        file it repeats. The skipped copies' rows are not read, so they are in no total.
    """
    if len(files) < 2:
        return list(files), ()
    by_size: dict[int, list[str]] = {}
    for f in files:
        by_size.setdefault(Path(f).stat().st_size, []).append(f)
    seen: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for group in (g for g in by_size.values() if len(g) > 1):  # only files of equal size can be identical
        for f in group:
            digest = _file_digest(f)
            if digest in seen:
                skipped[f] = seen[digest]
            else:
                seen[digest] = f
    kept = [f for f in files if f not in skipped]
    notes = tuple(f"{f} is byte-identical to {orig} (the same delivery twice): read once; the copy's rows are "
                  f"not counted." for f, orig in skipped.items())
    return kept, notes


def _encoding_hint(path: str) -> str:
    """`` The file is not UTF-8 ...`` when a CSV's first 64 KiB are not UTF-8 text (latin-1, UTF-16), else ``""``."""
    if path.lower().endswith((".parquet", ".pq")):
        return ""
    opener = gzip.open if path.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return ""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        kind = "UTF-16"
    else:
        try:
            head.decode("utf-8")
            return ""
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # a character cut at the end of the sample
                return ""
            kind = "another encoding (latin-1 / Windows-1252?)"
    return (f" The file is {kind} text, not UTF-8: save it as UTF-8 (in Excel: 'CSV UTF-8'), e.g. "
            f"iconv -f <encoding> -t UTF-8.")




def mark_duplicate_deliveries(con, columns: list[str], n_files: int) -> tuple[pd.DataFrame, str]:
    """Create the view or table ``raw``: the export's rows with ``_dup``, True for a row delivered twice.

    A row of one file that is equal, in every column, to a row of another file of the same input is the same
    charge delivered twice (an export re-run for the same billing period, an overlapping re-delivery). Per
    distinct row, the file that holds it most often keeps its copies (so identical rows within one file, which
    a bill can legitimately contain, are all kept); the copies in the other files are duplicates. Ties go to
    the file that sorts first.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection with the view ``scan`` (the files, with DuckDB's ``filename`` column).
    columns : list of str
        The export's columns (without ``filename``): all of them identify a row.
    n_files : int
        Files in the input; with one file nothing is a duplicate delivery.

    Returns
    -------
    (pairs, row_number) : (pandas.DataFrame, str)
        One row per (``file``, ``duplicate_of``, ``rows``) of duplicate rows, and the SQL expression of a row's
        position in scan order in ``raw``.
    """
    pairs = pd.DataFrame(columns=["file", "duplicate_of", "rows"])
    cols = ", ".join(_q(c) for c in columns)
    overlap = n_files > 1 and con.execute(f"""
        SELECT count(*) FROM (SELECT hash({cols}) AS h FROM scan GROUP BY h HAVING count(DISTINCT filename) > 1)
        """).fetchall()[0][0]
    if not overlap:  # the usual case: a view, nothing materialized
        con.execute("CREATE TEMP VIEW raw AS SELECT *, false AS _dup FROM scan")
        return pairs, "row_number() OVER ()"
    # numbered in scan order first (a streaming window), then ranked per distinct row
    con.execute("CREATE TEMP TABLE numbered AS SELECT *, row_number() OVER () AS _n FROM scan")
    con.execute(f"""
        CREATE TEMP TABLE raw AS
        WITH o AS (SELECT *, row_number() OVER (PARTITION BY {cols}, filename ORDER BY _n) AS _occ,
                          count(*) OVER (PARTITION BY {cols}, filename) AS _k FROM numbered),
        w AS (SELECT *, first_value(filename) OVER (PARTITION BY {cols} ORDER BY _k DESC, filename) AS _keep
              FROM o)
        SELECT * EXCLUDE (_occ, _k, _keep), filename <> _keep AS _dup, _keep AS _dup_of FROM w ORDER BY _n""")
    con.execute("DROP TABLE numbered")
    pairs = con.execute("""SELECT filename AS file, _dup_of AS duplicate_of, count(*) AS rows FROM raw WHERE _dup
                           GROUP BY ALL ORDER BY ALL""").df()
    return pairs, "_n"


def _duplicate_note(pairs: pd.DataFrame, fates: pd.DataFrame) -> list[str]:
    """The reconciliation note on duplicate deliveries: rows, GPU-hours [GPU-h] and cost [USD] dropped, files."""
    if pairs.empty:
        return []
    d = fates[fates["reason"] == "duplicate delivery"].sum(numeric_only=True)
    files = "; ".join(f"{int(r.rows)} rows of {r.file} repeat {r.duplicate_of}" for r in pairs.itertuples())
    note = (f"{int(d['rows'])} rows were delivered twice and dropped as duplicate deliveries ({d['gpu_hours']:,.2f} "
            f"GPU-h, billed {d['billed_cost']:,.2f}, effective {d['effective_cost']:,.2f}): {files}. They are "
            f"counted as rejected 'duplicate delivery'. Rows repeated within one file are kept.")
    return [note]


