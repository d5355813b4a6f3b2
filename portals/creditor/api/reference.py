"""The API reference page's content, read from the OpenAPI document (so the page and
the document cannot disagree): every operation with its parameters, body, responses
and error codes, and every schema as a table of fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REF = "#/components/schemas/"
METHOD_ORDER = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Type:
    """A schema's type as text, and the component it names (linked on the page)."""

    text: str
    ref: str | None = None


@dataclass(frozen=True)
class Field:
    name: str
    type: Type
    required: bool
    description: str
    rules: list[str]


@dataclass(frozen=True)
class Schema:
    name: str
    description: str
    fields: list[Field]


@dataclass(frozen=True)
class Result:
    status: str
    description: str
    content_type: str | None
    type: Type | None
    headers: list[str]


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    summary: str
    description: str
    parameters: list[tuple[str, Field]]  # (where, field)
    body: Type | None
    responses: list[Result]


@dataclass
class Section:
    tag: str
    description: str
    operations: list[Operation] = field(default_factory=list)


@dataclass(frozen=True)
class Reference:
    title: str
    version: str
    description: str
    server: str
    sections: list[Section]
    schemas: list[Schema]


def type_of(schema: dict[str, Any]) -> Type:
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(REF)
        return Type(name, name)
    if "anyOf" in schema or "oneOf" in schema:
        options = [type_of(s) for s in schema.get("anyOf") or schema["oneOf"]]
        named = next((o.ref for o in options if o.ref), None)
        return Type(" | ".join(o.text for o in options), named)
    kind = schema.get("type", "")
    if kind == "array":
        inner = type_of(schema.get("items", {}))
        return Type(f"array[{inner.text}]", inner.ref)
    if isinstance(kind, list):
        kind = " | ".join(kind)
    if schema.get("format"):
        kind = f"{kind} ({schema['format']})"
    return Type(kind or "any")


def rules_of(schema: dict[str, Any]) -> list[str]:
    """The constraints a value must meet, as short phrases."""
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            schema = {**option, **{k: v for k, v in schema.items() if k != "anyOf"}}
    rules = []
    if "enum" in schema:
        rules.append("en av: " + ", ".join(str(v) for v in schema["enum"]))
    if "const" in schema:
        rules.append(f"alltid {schema['const']}")
    for key, text in (
        ("minimum", "minst"),
        ("maximum", "högst"),
        ("minLength", "minst {} tecken"),
        ("maxLength", "högst {} tecken"),
        ("maxItems", "högst {} element"),
    ):
        if key in schema:
            rules.append(text.format(schema[key]) if "{}" in text else f"{text} {schema[key]}")
    if "default" in schema:
        rules.append(f"standard: {_json(schema['default'])}")
    return rules


def _json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field(name: str, schema: dict[str, Any], required: bool) -> Field:
    return Field(name, type_of(schema), required, schema.get("description", ""), rules_of(schema))


def _schema(name: str, schema: dict[str, Any]) -> Schema:
    required = set(schema.get("required", []))
    fields = [_field(n, s, n in required) for n, s in schema.get("properties", {}).items()]
    return Schema(name, schema.get("description", ""), fields)


def _responses(op: dict[str, Any]) -> list[Result]:
    results = []
    for status, response in sorted(op.get("responses", {}).items()):
        [(content_type, media)] = response.get("content", {}).items() or [(None, {})]
        results.append(
            Result(
                status,
                response.get("description", ""),
                content_type,
                type_of(media["schema"]) if media.get("schema") else None,
                list(response.get("headers", {})),
            )
        )
    return results


def _operation(path: str, method: str, op: dict[str, Any]) -> Operation:
    params = [
        (
            p["in"],
            _field(
                p["name"],
                {**p.get("schema", {}), "description": p.get("description", "")},
                p.get("required", False),
            ),
        )
        for p in op.get("parameters", [])
    ]
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    return Operation(
        op.get("operationId", ""),
        method.upper(),
        path,
        op.get("summary", ""),
        op.get("description", ""),
        params,
        type_of(body["schema"]) if body else None,
        _responses(op),
    )


def _referenced(paths: dict[str, Any], components: dict[str, Any]) -> set[str]:
    """The schemas that bodies and responses name, directly or inside each other (not
    the parameter models, which the operations show as parameters)."""
    found: set[str] = set()
    todo: list[Any] = [paths]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF) and ref[len(REF) :] not in found:
                found.add(ref[len(REF) :])
                todo.append(components.get(ref[len(REF) :], {}))
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found


def build(doc: dict[str, Any]) -> Reference:
    tags = {t["name"]: Section(t["name"], t.get("description", "")) for t in doc.get("tags", [])}
    for path, operations in doc["paths"].items():
        for method in sorted(
            operations, key=lambda m: METHOD_ORDER.index(m) if m in METHOD_ORDER else 99
        ):
            op = operations[method]
            tag = (op.get("tags") or ["API"])[0]
            section = tags.setdefault(tag, Section(tag, ""))
            section.operations.append(_operation(path, method, op))
    components = doc.get("components", {}).get("schemas", {})
    used = _referenced(doc["paths"], components)
    schemas = [_schema(name, s) for name, s in sorted(components.items()) if name in used]
    info = doc["info"]
    return Reference(
        info["title"],
        info["version"],
        info.get("description", ""),
        doc["servers"][0]["url"],
        [s for s in tags.values() if s.operations],
        schemas,
    )
