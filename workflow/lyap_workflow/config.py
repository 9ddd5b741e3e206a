"""The workflow configuration: the one JSON schema, its defaults and its error messages.

Snakemake (the ``Snakefile``) and ``lyap sweep`` both call :func:`resolve`, so a config
means the same thing with or without Snakemake: the same defaults, the same checks and
the same one-line errors (``invalid config: sweeps.x.numerics.m: ...``).

The schema file is ``workflow/schemas/config.schema.yaml`` (next to this package in the
repository; the pipeline is installed editable, ``pip install -e workflow``).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A sweep configuration that cannot run; the message starts with the config field."""

    @property
    def line(self) -> str:
        """The one line shown to a user: ``invalid config: <field>: <why>``."""
        text = str(self)
        return text if text.startswith("invalid config") else f"invalid config: {text}"


@functools.cache
def _schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA.read_text())


def _with_defaults(cls: type) -> type:
    """A validator class that fills in each property's ``default`` (a copy) before checking it."""
    check_properties = cls.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from check_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(cls, {"properties": properties})


def schema_message(errors: list[jsonschema.ValidationError]) -> str:
    """``<field path>: <why>`` of the most relevant of the schema violations ``errors``."""
    err = jsonschema.exceptions.best_match(errors)
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
    return f"{path.lstrip('.') or '(top level)'}: {err.message}"


def resolve(config: Mapping[str, Any]) -> dict[str, Any]:
    """A validated copy of ``config`` with every schema default filled in.

    Raises
    ------
    ConfigError
        ``invalid config: <field>: <why>`` for the first schema violation.
    """
    out = copy.deepcopy(dict(config))
    validator = _with_defaults(jsonschema.Draft202012Validator)(_schema())
    errors = list(validator.iter_errors(out))
    if errors:
        raise ConfigError(f"invalid config: {schema_message(errors)}")
    return out


def load(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and :func:`resolve` it (ConfigError naming an unreadable file)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config is a mapping with a 'sweeps' key")
    return resolve(raw)
