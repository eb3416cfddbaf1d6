"""Validates real responses against docs/openapi.yaml (OpenAPI 3.1, JSON Schema 2020-12).

    import openapi_check
    status, headers, body = srv.request("GET", "/api/v1/auth/me", token=t)
    openapi_check.check("GET", "/api/v1/auth/me", status, headers, body)

check() fails (AssertionError) when the operation is not in the file, the status is not
documented for it, a required response header is missing or has the wrong shape, the media type
differs, or the body does not match the schema. Responses that no operation owns (404, 405,
431, ...) are checked with check_unrouted() against `x-lattice-unrouted-responses`.
Needs python3-yaml and python3-jsonschema.
"""

import json
import os

import jsonschema
import yaml

from lattice_server import source_dir

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def spec_path():
    return os.path.join(source_dir(), "docs", "openapi.yaml")


class OpenApi:
    def __init__(self, path=None):
        self.path = path or spec_path()
        with open(self.path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)

    # -- lookup --------------------------------------------------------------------------------

    def ref(self, pointer):
        """The object a local reference ("#/components/...") points at."""
        if not pointer.startswith("#/"):
            raise AssertionError(f"only local $refs are supported: {pointer}")
        node = self.doc
        for part in pointer[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise AssertionError(f"dangling $ref {pointer} in {self.path}")
            node = node[part]
        return node

    def inline(self, node, depth=0):
        """`node` with every local $ref replaced by its target (the spec has no cycles)."""
        if depth > 64:
            raise AssertionError("$ref nesting too deep (a cycle?)")
        if isinstance(node, list):
            return [self.inline(n, depth + 1) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = self.inline(self.ref(node["$ref"]), depth + 1)
            rest = {k: v for k, v in node.items() if k != "$ref"}
            if not rest:
                return target
            return {"allOf": [target], **self.inline(rest, depth + 1)}
        return {k: self.inline(v, depth + 1) for k, v in node.items()}

    def operations(self):
        """[(METHOD, path, operation)] for every operation in the file."""
        out = []
        for path, item in (self.doc.get("paths") or {}).items():
            for method, op in item.items():
                if method in HTTP_METHODS:
                    out.append((method.upper(), path, op))
        return out

    def operation(self, method, path):
        item = (self.doc.get("paths") or {}).get(path)
        op = item.get(method.lower()) if item else None
        if op is None:
            raise AssertionError(f"{method} {path} is not documented in {self.path}")
        return op

    def response(self, method, path, status):
        op = self.operation(method, path)
        responses = op.get("responses") or {}
        resp = responses.get(str(status))
        if resp is None:
            resp = responses.get(f"{str(status)[0]}XX")
        if resp is None:
            raise AssertionError(
                f"{method} {path} answered {status}, which {self.path} does not document "
                f"(documented: {sorted(responses)})")
        return self.inline(resp)

    # -- validation ----------------------------------------------------------------------------

    def check(self, method, path_pattern, status, headers, body):
        """Asserts the response matches the documented one. Returns body."""
        where = f"{method} {path_pattern} -> {status}"
        self._check_response(where, self.response(method, path_pattern, status), headers, body)
        return body

    def check_unrouted(self, status, headers, body):
        """For responses no operation owns (404, 405, 431, malformed requests, ...)."""
        table = self.doc.get("x-lattice-unrouted-responses") or {}
        resp = table.get(str(status))
        if resp is None:
            raise AssertionError(f"unrouted status {status} is not documented in "
                                 f"x-lattice-unrouted-responses (documented: {sorted(table)})")
        self._check_response(f"(unrouted) -> {status}", self.inline(resp), headers, body)
        return body

    def check_schema(self, name, instance):
        """Asserts `instance` matches components/schemas/<name> (e.g. an event's payload)."""
        self._validate(f"schema {name}", self.inline({"$ref": f"#/components/schemas/{name}"}),
                       instance)
        return instance

    def _check_response(self, where, resp, headers, body):
        for name, hdr in (resp.get("headers") or {}).items():
            value = headers.get(name)
            if value is None:
                if hdr.get("required"):
                    raise AssertionError(f"{where}: required header {name} is missing; got "
                                         f"{dict(headers.items())}")
                continue
            schema = hdr.get("schema") or {}
            instance = value
            if schema.get("type") == "integer":
                try:
                    instance = int(value)
                except ValueError:
                    raise AssertionError(f"{where}: header {name}: {value!r} is not an integer")
            self._validate(f"{where}: header {name}", schema, instance)

        content = resp.get("content") or {}
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not content:
            if body not in (None, "", b""):
                raise AssertionError(f"{where}: documented without a body, got {body!r}")
            return
        if ctype not in content:
            raise AssertionError(f"{where}: Content-Type {ctype!r} is not documented "
                                 f"(documented: {sorted(content)}); body {body!r}")
        schema = content[ctype].get("schema")
        if schema is not None:
            self._validate(f"{where}: body", schema, body)

    @staticmethod
    def _validate(where, schema, instance):
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            lines = [f"{where} does not match the OpenAPI schema:"]
            for e in errors[:5]:
                at = "/".join(str(p) for p in e.absolute_path) or "(root)"
                lines.append(f"  at {at}: {e.message}")
            shown = json.dumps(instance) if not isinstance(instance, str) else instance
            lines.append(f"  instance: {shown[:2000]}")
            raise AssertionError("\n".join(lines))


_default = None


def spec():
    """The parsed docs/openapi.yaml (loaded once)."""
    global _default
    if _default is None:
        _default = OpenApi()
    return _default


def check(method, path_pattern, status, headers, body):
    return spec().check(method, path_pattern, status, headers, body)


def check_unrouted(status, headers, body):
    return spec().check_unrouted(status, headers, body)


def check_schema(name, instance):
    return spec().check_schema(name, instance)
