"""docs/openapi.yaml against the routing table the binary really serves (`lattice routes`),
and the spec's own consistency (refs resolve, schemas are valid and strict, ids unique)."""

import json
import re
import unittest

import jsonschema

import openapi_check
from lattice_server import run_lattice

PROBLEM_TYPES = ("application/problem+json",)


def served_routes():
    cp = run_lattice("routes")
    if cp.returncode != 0:
        raise AssertionError(f"lattice routes exited {cp.returncode}: {cp.stderr}")
    return json.loads(cp.stdout)


class RoutesMatchSpec(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.routes = served_routes()
        cls.spec = openapi_check.spec()
        cls.ops = {(m, p): op for m, p, op in cls.spec.operations()}

    def test_routes_output_is_well_formed(self):
        self.assertGreater(len(self.routes), 0)
        seen = set()
        for r in self.routes:
            self.assertEqual(set(r), {"method", "path", "access"}, r)
            self.assertIn(r["access"], ("public", "user", "admin"), r)
            self.assertTrue(r["path"].startswith("/"), r)
            key = (r["method"], r["path"])
            self.assertNotIn(key, seen, f"route listed twice: {key}")
            seen.add(key)

    def test_every_served_route_is_documented(self):
        missing = [f"{r['method']} {r['path']}" for r in self.routes
                   if (r["method"], r["path"]) not in self.ops]
        self.assertEqual(missing, [], "the server exposes routes docs/openapi.yaml lacks")

    def test_every_documented_operation_is_served(self):
        served = {(r["method"], r["path"]) for r in self.routes}
        extra = [f"{m} {p}" for (m, p) in self.ops if (m, p) not in served]
        self.assertEqual(extra, [], "docs/openapi.yaml documents routes the server lacks")

    def test_security_matches_access(self):
        global_security = self.spec.doc.get("security")
        schemes = self.spec.doc.get("components", {}).get("securitySchemes", {})
        self.assertEqual(schemes.get("bearerAuth", {}).get("type"), "http")
        self.assertEqual(schemes.get("bearerAuth", {}).get("scheme"), "bearer")
        for r in self.routes:
            op = self.ops.get((r["method"], r["path"]))
            if op is None:
                continue  # reported by test_every_served_route_is_documented
            name = f"{r['method']} {r['path']}"
            with self.subTest(route=name):
                self.assertEqual(op.get("x-lattice-access"), r["access"],
                                 f"{name}: x-lattice-access differs from `lattice routes`")
                effective = op["security"] if "security" in op else global_security
                responses = op.get("responses", {})
                if r["access"] == "public":
                    self.assertIn("security", op, f"{name} is public: it needs `security: []`")
                    self.assertEqual(op["security"], [], f"{name} is public")
                else:
                    self.assertTrue(effective, f"{name} needs a token but has no security")
                    self.assertTrue(any("bearerAuth" in req for req in effective),
                                    f"{name}: security must require bearerAuth")
                    self.assertIn("401", responses, f"{name} needs a token: document 401")
                if r["access"] == "admin":
                    self.assertIn("403", responses, f"{name} is admin-only: document 403")

    def test_path_parameters_are_declared(self):
        for (method, path), op in self.ops.items():
            names = set(re.findall(r"\{([^}]+)\}", path))
            item = self.spec.doc["paths"][path]
            declared = {self.spec.inline(p)["name"]
                        for p in (item.get("parameters", []) + op.get("parameters", []))
                        if self.spec.inline(p).get("in") == "path"}
            self.assertEqual(names, declared, f"{method} {path}: path parameters")


class SpecIsConsistent(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.spec = openapi_check.spec()
        cls.doc = cls.spec.doc

    def test_openapi_version(self):
        self.assertTrue(str(self.doc.get("openapi", "")).startswith("3.1."))
        self.assertIn("title", self.doc.get("info", {}))
        self.assertIn("version", self.doc.get("info", {}))

    def test_every_ref_resolves(self):
        refs = []

        def walk(node):
            if isinstance(node, dict):
                if isinstance(node.get("$ref"), str):
                    refs.append(node["$ref"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(self.doc)
        self.assertGreater(len(refs), 0)
        for ref in refs:
            self.spec.ref(ref)  # raises on a dangling ref

    def test_operation_ids_unique_and_tags_declared(self):
        declared_tags = {t["name"] for t in self.doc.get("tags", [])}
        ids = []
        for method, path, op in self.spec.operations():
            name = f"{method} {path}"
            self.assertRegex(op.get("operationId", ""), r"^[a-z][A-Za-z0-9]*$", name)
            ids.append(op["operationId"])
            self.assertTrue(op.get("tags"), f"{name} has no tags")
            for t in op["tags"]:
                self.assertIn(t, declared_tags, f"{name}: tag {t} is not declared")
            self.assertTrue(op.get("summary"), f"{name} has no summary")
        self.assertEqual(len(ids), len(set(ids)), f"duplicate operationIds: {ids}")

    def test_schemas_are_valid_and_strict(self):
        for name, schema in self.doc["components"]["schemas"].items():
            with self.subTest(schema=name):
                jsonschema.Draft202012Validator.check_schema(self.spec.inline(schema))
                if schema.get("type") == "object":
                    self.assertIs(schema.get("additionalProperties"), False,
                                  f"{name}: objects must set additionalProperties: false")
                    self.assertTrue(schema.get("required"), f"{name}: list required members")
                    for member in schema["required"]:
                        self.assertIn(member, schema.get("properties", {}), name)

    def test_user_and_problem_shapes(self):
        schemas = self.doc["components"]["schemas"]
        user = schemas["User"]
        self.assertEqual(set(user["required"]), {"id", "email", "role", "created_at"})
        self.assertEqual(user["properties"]["role"]["enum"], ["admin", "user"])
        auth = schemas["AuthResponse"]
        self.assertEqual(set(auth["required"]), {"user", "token", "expires_at"})
        problem = schemas["Problem"]
        self.assertEqual(set(problem["required"]), {"type", "title", "status", "detail",
                                                    "instance"})
        # RFC 9457 members, field errors, and the extension members of quota-exceeded.
        self.assertEqual(set(problem["properties"]),
                         {"type", "title", "status", "detail", "instance", "errors",
                          "quota", "limit", "used", "requested"})

    def test_every_response_is_well_formed(self):
        for method, path, op in self.spec.operations():
            responses = op.get("responses", {})
            self.assertTrue(responses, f"{method} {path} has no responses")
            for status in responses:
                where = f"{method} {path} {status}"
                with self.subTest(response=where):
                    self.assertRegex(str(status), r"^[1-5][0-9][0-9]$", where)
                    resp = self.spec.response(method, path, status)
                    self.assertTrue(resp.get("description"), f"{where}: description")
                    for media in resp.get("content", {}).values():
                        jsonschema.Draft202012Validator.check_schema(media["schema"])
                    if int(status) >= 400:
                        self.assertEqual(tuple(resp.get("content", {})), PROBLEM_TYPES,
                                         f"{where}: errors are application/problem+json")
                    if status == "429":
                        self.assertTrue(resp.get("headers", {}).get("Retry-After", {})
                                        .get("required"), f"{where}: Retry-After")
                    if status == "204":
                        self.assertNotIn("content", resp, where)

    def test_operations_with_a_body_document_body_errors(self):
        for method, path, op in self.spec.operations():
            if "requestBody" not in op:
                continue
            with self.subTest(op=f"{method} {path}"):
                self.assertIn("application/json", op["requestBody"]["content"])
                for status in ("400", "413", "415"):
                    self.assertIn(status, op["responses"], f"{method} {path}: {status}")

    def test_unrouted_responses(self):
        table = self.doc.get("x-lattice-unrouted-responses", {})
        for status in ("400", "404", "405", "413", "431"):
            self.assertIn(status, table)
        for status in table:
            resp = self.spec.inline(table[status])
            self.assertEqual(tuple(resp.get("content", {})), PROBLEM_TYPES, status)


if __name__ == "__main__":
    unittest.main()
