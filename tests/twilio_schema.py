"""Checks a JSON answer against a schema of Twilio's OpenAPI file (shared/twilio-oai)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "twilio-oai"
# The voice API's and TaskRouter's files: the vendored subset, and the full file in shared/.
SUBSETS = {"api": DATA / "twilio_api_v2010.subset.json",
           "taskrouter": DATA / "twilio_taskrouter_v1.subset.json"}  # fmt: skip
FULLS = {
    "api": SHARED / "twilio_api_v2010.json",
    "taskrouter": SHARED / "twilio_taskrouter_v1.json",
}
SUBSET, FULL = SUBSETS["api"], FULLS["api"]


@functools.cache
def spec(source: str = "api") -> dict[str, Any]:
    """The vendored subset of one of Twilio's OpenAPI files (see tests/data/README.md)."""
    loaded: dict[str, Any] = json.loads(SUBSETS[source].read_text())
    return loaded


def _resolve(schema: dict[str, Any], source: str = "api") -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        resolved: dict[str, Any] = spec(source)["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        return resolved
    return schema


def problems(
    value: Any, schema: dict[str, Any], where: str = "$", source: str = "api"
) -> list[str]:
    """Every way `value` departs from `schema` (types, enums, required and unknown fields)."""
    if value is None:
        # Twilio's file puts its enums behind $ref without `nullable`, while
        # Twilio answers null there (no end reason on a live conference).
        nullable = "$ref" in schema or _resolve(schema, source).get(
            "nullable", "type" not in schema
        )
        return [] if nullable else [f"{where} is null"]
    schema = _resolve(schema, source)
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}={value!r} is not one of {schema['enum']}"]
    checks = {"string": str, "boolean": bool, "integer": int, "object": dict, "array": list}
    if kind in checks and not isinstance(value, checks[kind]):
        return [f"{where} is {type(value).__name__}, not {kind}"]
    if kind == "integer" and isinstance(value, bool):
        return [f"{where} is a bool, not an integer"]
    out: list[str] = []
    if kind == "object" and "properties" in schema:
        props: dict[str, Any] = schema["properties"]
        out += [f"{where}.{k} is missing" for k in props if k not in value]
        out += [f"{where}.{k} is not in Twilio's schema" for k in value if k not in props]
        for key, sub in props.items():
            if key in value:
                out += problems(value[key], sub, f"{where}.{key}", source)
    if kind == "array" and "items" in schema:
        for i, item in enumerate(value):
            out += problems(item, schema["items"], f"{where}[{i}]", source)
    return out


def schema_of(name: str, source: str = "api") -> dict[str, Any]:
    found: dict[str, Any] = spec(source)["components"]["schemas"][name]
    return found


def response_schema(path: str, method: str, status: str, source: str = "api") -> dict[str, Any]:
    operation = spec(source)["paths"][path][method]
    found: dict[str, Any] = operation["responses"][status]["content"]["application/json"]["schema"]
    return found
