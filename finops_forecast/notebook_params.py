"""Parameters of the parameterized notebooks, validated in one place for every notebook.

papermill only *warns* on a parameter a notebook does not declare, so a misspelled ``-p quater 2027Q1`` would
silently run with the default. Each notebook's second cell therefore builds its parameter set with
:meth:`NotebookParams.from_namespace`, which rejects unknown names (with the closest valid one), wrong types and
out-of-range values, naming the parameter and the fix.

A parameter set is a frozen dataclass that subclasses :class:`NotebookParams`, one field per notebook parameter,
with a :meth:`~NotebookParams.validate` method for its ranges. Class attributes choose the errors raised.

The dataclass is the one source of truth of a notebook's ``parameters`` cell: each field is declared with
:func:`param` (its default and its help text), :func:`parameters_cell` renders the cell from the fields (one typed
line per parameter with its help comment, as ``papermill --help-notebook`` reads it), and
``tools/sync_notebook_params.py`` writes that cell into the notebooks.
"""
from __future__ import annotations

import dataclasses
import json
import math
import types
from typing import Any, ClassVar

from finops_forecast.errors import FinopsError, UnknownNameError, suggest

# IPython's own globals, never parameters
_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})


def param(default: Any, help: str) -> Any:
    """Declare one notebook parameter: a dataclass field with its default and its help text.

    Parameters
    ----------
    default : str, int or float
        The parameter's default, as written in the notebook's ``parameters`` cell.
    help : str
        One line saying what the parameter is, its unit in brackets and its valid range or values; it becomes
        the comment after the parameter in the ``parameters`` cell and papermill's ``--help-notebook`` text.

    Returns
    -------
    dataclasses.Field
        A field whose ``metadata["help"]`` holds ``help``.
    """
    if not help or "\n" in help:
        raise ValueError(f"the help of a notebook parameter must be one non-empty line, got {help!r}.")
    return dataclasses.field(default=default, metadata={"help": help})


def parameters_cell(cls: type) -> str:
    """The source of a notebook's ``parameters`` cell, rendered from a parameter dataclass.

    Parameters
    ----------
    cls : type
        A dataclass whose public fields were declared with :func:`param`.

    Returns
    -------
    str
        One line per public field, in field order: ``name: type = default  # help`` (no trailing newline).

    Raises
    ------
    TypeError
        When a field has no help text (declare it with :func:`param`).
    """
    return "\n".join(_parameter_line(cls, f) for f in dataclasses.fields(cls) if not f.name.startswith("_"))


def _parameter_line(cls: type, f: dataclasses.Field) -> str:
    """``name: type = default  # help`` for one field."""
    help_ = f.metadata.get("help")
    if not help_:
        raise TypeError(f"{cls.__name__}.{f.name} has no help text: declare it with param(default, help).")
    type_name = f.type if isinstance(f.type, str) else f.type.__name__
    return f"{f.name}: {type_name} = {_literal(f.default)}  # {help_}"


def _literal(value: Any) -> str:
    """A default as Python source; strings in double quotes, as the notebooks write them."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


class NotebookParams:
    """Construction and validation shared by the notebooks' parameter sets (a mixin for frozen dataclasses).

    Class attributes
    ----------------
    error : type
        Raised for a value of the wrong type (subclasses use their stage's error).
    unknown_error : type
        Raised for a name that is not a parameter.
    notebook_variables : frozenset
        Names the notebook itself assigns in later cells, ignored by :meth:`from_namespace` so that re-running
        its cells does not reject them.
    """

    error: ClassVar[type] = FinopsError
    unknown_error: ClassVar[type] = UnknownNameError
    notebook_variables: ClassVar[frozenset] = frozenset()

    @classmethod
    def names(cls) -> list[str]:
        """The parameter names, in the order of the notebook's ``parameters`` cell."""
        return [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]

    @classmethod
    def from_mapping(cls, values: dict[str, Any]):
        """Build and validate from a mapping; unknown keys are an error naming the closest valid parameter."""
        names = cls.names()
        for key in values:
            if key not in names:
                raise cls.unknown_error(f"unknown parameter '{key}'.{suggest(key, names)} Valid parameters: {names}.")
        types_ = {f.name: f.type for f in dataclasses.fields(cls)}
        params = cls(**{k: cls._coerce(k, v, types_[k]) for k, v in values.items()})
        params.validate()
        return params

    @classmethod
    def from_namespace(cls, namespace: dict[str, Any]):
        """Collect the parameters from a notebook's globals (after papermill injected its values) and validate.

        Every public, non-module, non-callable global is taken as a parameter, so a misspelled injected name is
        caught here rather than ignored.
        """
        skip = _IPYTHON_NAMES | cls.notebook_variables
        return cls.from_mapping({k: v for k, v in namespace.items()
                                 if not k.startswith("_") and k not in skip
                                 and not isinstance(v, types.ModuleType) and not callable(v)})

    @classmethod
    def from_yaml(cls, path):
        """Read parameters from a YAML mapping of name: value (e.g. the CLI's ``--params FILE.yaml``)."""
        import yaml

        try:
            doc = yaml.safe_load(open(path)) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise cls.error(f"{path}: cannot read the parameters file: {exc}.") from None
        if not isinstance(doc, dict):
            raise cls.error(f"{path}: the parameters file must be a YAML mapping of name: value.")
        return cls.from_mapping(doc)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.names()}

    def validate(self) -> None:
        """Check ranges; subclasses override it (the default accepts every value of the right type)."""

    @classmethod
    def _coerce(cls, name: str, value: Any, typ: Any) -> Any:
        """Convert a value to the field's declared type (``str``, ``int``, ``float`` or ``bool``), or raise
        naming it."""
        typ = {"str": str, "int": int, "float": float, "bool": bool}.get(typ, typ) if isinstance(typ, str) else typ
        if typ is bool:
            words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
            if isinstance(value, bool):
                return value
            if str(value).strip().lower() in words and not isinstance(value, float):
                return words[str(value).strip().lower()]
            raise cls.error(f"parameter '{name}' = {value!r} is not true or false; write True or False.")
        if typ is str:
            if value is None:
                return ""
            return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        try:
            if typ is int:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                return int(value)
            if typ is float:
                if isinstance(value, bool):
                    raise ValueError
                number = float(value)
        except (TypeError, ValueError):
            kind = "a whole number" if typ is int else "a number"
            raise cls.error(f"parameter '{name}' = {value!r} is not {kind}.") from None
        if typ is float:
            if not math.isfinite(number):
                raise cls.error(f"parameter '{name}' = {value!r} is not a finite number: give a number, not nan "
                                "or inf.")
            return number
        return value
