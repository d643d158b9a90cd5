#!/usr/bin/env python3
"""Writes vectors.json: the identity-context test vectors, computed by a second, independent
implementation of the encoding (Python's urllib) so the Rust crate is checked against it.

Run from this directory: python3 gen_vectors.py > vectors.json
"""
import json
from urllib.parse import quote

V, ID, ISS, EMAIL, ROLES, PERMS, ATTRS = (
    "x-user-context-version", "x-user-id", "x-user-issuer", "x-user-email",
    "x-user-roles", "x-user-permissions", "x-user-attributes")
ISSUER = "https://issuer.example"


def enc(s):
    # quote() always keeps A-Z a-z 0-9 _ . - ~ and escapes in upper-case hex over UTF-8.
    return quote(s, safe=":/@*")


def identity(subject="alice", issuer=ISSUER, email=None, roles=(), permissions=(), attributes=None):
    return {"subject": subject, "email": email, "roles": list(roles),
            "permissions": list(permissions), "issuer": issuer, "attributes": attributes or {}}


def encode(i):
    h = [[V, "1"], [ID, enc(i["subject"])], [ISS, enc(i["issuer"])]]
    if i["email"] is not None:
        h.append([EMAIL, enc(i["email"])])
    if i["roles"]:
        h.append([ROLES, ",".join(map(enc, i["roles"]))])
    if i["permissions"]:
        h.append([PERMS, ",".join(map(enc, i["permissions"]))])
    if i["attributes"]:
        keys = sorted(i["attributes"], key=lambda k: k.encode())
        h.append([ATTRS, ",".join(enc(k) + "=" + enc(i["attributes"][k]) for k in keys)])
    return h


def base(**extra):
    h = [[V, "1"], [ID, "alice"], [ISS, enc(ISSUER)]]
    for name, value in extra.items():
        h = [p for p in h if p[0] != name]
        h.append([name, value])
    return h


def without(name):
    return [p for p in base() if p[0] != name]


roundtrip = [
    ("minimal", identity()),
    ("full", identity(email="alice@example.com", roles=["admin", "support"],
                      permissions=["orders:create", "orders:*"],
                      attributes={"tenant": "acme", "plan": "pro"})),
    ("separators and spaces", identity(subject="a,b c", email="bob+tag@example.com",
                                       roles=["team, the best", "100%"], permissions=["x=y", "a;b"],
                                       attributes={"k=1": "v,2", "empty": ""})),
    ("control characters", identity(subject="line1\r\nline2\u0000", roles=["\t", "\u007f"])),
    ("non-ASCII", identity(subject="ünïcödé", email="café@exämple.com", roles=["🦀", "日本"],
                           attributes={"名前": "値"})),
    ("attribute keys in byte order", identity(attributes={"b": "1", "a": "2", "B": "3", "é": "4", "z": "5"})),
    ("duplicate list items are kept", identity(roles=["a", "a"], permissions=["p", "q", "p"])),
    ("bare set is left alone", identity(subject="AZaz09-._~:/@*", issuer="urn:x")),
    ("wildcard permissions stay readable", identity(permissions=["orders:*", "*"])),
    ("looks like an escape", identity(subject="%41", roles=["%2C"])),
    ("largest single value", identity(subject="s" * 1024)),
    ("most list items", identity(roles=["r"] * 256)),
]

decode_only = [
    ("lower-case hex", base(**{ID: "%c3%a9t%c3%a9"}), identity(subject="été")),
    ("escaped bare bytes", base(**{ID: "%61lice"}), identity()),
    ("header names in any case",
     [["X-User-Context-Version", "1"], ["X-USER-ID", "alice"], ["x-User-Issuer", enc(ISSUER)]], identity()),
    ("attributes in any order", base(**{ATTRS: "b=1,a=2"}), identity(attributes={"a": "2", "b": "1"})),
    ("unrelated headers are ignored",
     base() + [["authorization", "Bearer x"], ["x-userid", "mallory"], ["x-users-id", "m"], ["x-user", "m"]],
     identity()),
]

no_context = [
    ("no headers", []),
    ("only unrelated headers", [["accept", "*/*"], ["x-userid", "mallory"], ["x-user", "m"]]),
]

big_perm = "p" * 41
refused = [
    ("roles without id", [[V, "1"], [ISS, "iss"], [ROLES, "admin"]], "missing_header"),
    ("no version", without(V), "missing_header"),
    ("no issuer", without(ISS), "missing_header"),
    ("no id", without(ID), "missing_header"),
    ("version 2", base(**{V: "2"}), "unsupported_version"),
    ("version 1.0", base(**{V: "1.0"}), "unsupported_version"),
    ("two ids", base() + [[ID, "bob"]], "duplicate_header"),
    ("two ids in different case", base() + [["X-User-Id", "bob"]], "duplicate_header"),
    ("two role headers", base(**{ROLES: "a"}) + [[ROLES, "b"]], "duplicate_header"),
    ("unknown reserved header", base() + [["x-user-tenant", "acme"]], "unknown_header"),
    ("underscore spelling", base() + [["x_user_id", "mallory"]], "unknown_header"),
    ("mixed spelling", base() + [["X_USER-ROLES", "admin"]], "unknown_header"),
    ("only an unknown reserved header", [["x-user-anything", "x"]], "unknown_header"),
    ("space", base(**{ID: "a b"}), "invalid_encoding"),
    ("bare comma in a single value", base(**{ID: "a,b"}), "invalid_encoding"),
    ("plus", base(**{ID: "a+b"}), "invalid_encoding"),
    ("lone percent", base(**{ID: "100%"}), "invalid_encoding"),
    ("cut escape", base(**{ID: "a%4"}), "invalid_encoding"),
    ("non-hex escape", base(**{ID: "%G1"}), "invalid_encoding"),
    ("escape decodes to invalid UTF-8", base(**{ID: "%C3"}), "invalid_encoding"),
    ("escaped 0xFF", base(**{ROLES: "%FF"}), "invalid_encoding"),
    ("raw non-ASCII byte", base(**{ID: "caf\u00e9"}), "invalid_encoding"),
    ("attribute without =", base(**{ATTRS: "tenant"}), "invalid_encoding"),
    ("attribute with two =", base(**{ATTRS: "a=b=c"}), "invalid_encoding"),
    ("empty id", base(**{ID: ""}), "empty_value"),
    ("empty issuer", base(**{ISS: ""}), "empty_value"),
    ("empty email", base(**{EMAIL: ""}), "empty_value"),
    ("empty roles header", base(**{ROLES: ""}), "empty_value"),
    ("empty list item", base(**{ROLES: "a,,b"}), "empty_value"),
    ("trailing comma", base(**{PERMS: "a,"}), "empty_value"),
    ("empty attribute key", base(**{ATTRS: "=v"}), "empty_value"),
    ("oversize context", base(**{PERMS: ",".join([big_perm] * 200)}), "too_large"),
    ("too many roles", base(**{ROLES: ",".join(["r"] * 257)}), "too_many_items"),
    ("too many attributes", base(**{ATTRS: ",".join(f"k{i}=v" for i in range(65))}), "too_many_items"),
    ("subject too long", base(**{ID: "s" * 1025}), "value_too_long"),
    ("role too long", base(**{ROLES: "r" * 257}), "value_too_long"),
    ("attribute value too long", base(**{ATTRS: "k=" + "v" * 1025}), "value_too_long"),
    ("duplicate attribute key", base(**{ATTRS: "a=1,a=2"}), "duplicate_attribute"),
    ("duplicate attribute key, escaped", base(**{ATTRS: "a=1,%61=2"}), "duplicate_attribute"),
]

unencodable = [
    ("empty subject", identity(subject=""), "empty_value"),
    ("empty issuer", identity(issuer=""), "empty_value"),
    ("empty email", identity(email=""), "empty_value"),
    ("empty role", identity(roles=["a", ""]), "empty_value"),
    ("empty permission", identity(permissions=[""]), "empty_value"),
    ("empty attribute key", identity(attributes={"": "v"}), "empty_value"),
    ("too many roles", identity(roles=["r"] * 257), "too_many_items"),
    ("too many attributes", identity(attributes={f"k{i}": "v" for i in range(65)}), "too_many_items"),
    ("subject too long", identity(subject="s" * 1025), "value_too_long"),
    ("permission too long", identity(permissions=["p" * 257]), "value_too_long"),
    ("encoded context too large", identity(permissions=["%" * 256] * 11), "too_large"),
]

doc = {
    "contract_version": "1",
    "about": ("Identity-context test vectors. Header values are JSON strings whose code points "
              "are each one byte (all are ASCII except where a vector says otherwise). "
              "'roundtrip': encoding 'identity' must give exactly 'headers' (as a set), and "
              "decoding 'headers' must give 'identity'. 'decode_only': decoding must give "
              "'identity'. 'no_context': decoding must find no context. 'refused': decoding "
              "must fail with 'error'. 'unencodable': encoding must fail with 'error'. "
              "See docs/context-contract.md."),
    "roundtrip": [{"name": n, "identity": i, "headers": encode(i)} for n, i in roundtrip],
    "decode_only": [{"name": n, "headers": h, "identity": i} for n, h, i in decode_only],
    "no_context": [{"name": n, "headers": h} for n, h in no_context],
    "refused": [{"name": n, "headers": h, "error": e} for n, h, e in refused],
    "unencodable": [{"name": n, "identity": i, "error": e} for n, i, e in unencodable],
}
# One vector a line keeps the file readable and its diffs small.
lines = ["{"]
for i, (key, value) in enumerate(doc.items()):
    end = "," if i < len(doc) - 1 else ""
    if isinstance(value, list):
        lines.append(f" {json.dumps(key)}: [")
        lines += [f"  {json.dumps(v)}" + ("," if j < len(value) - 1 else "") for j, v in enumerate(value)]
        lines.append(" ]" + end)
    else:
        lines.append(f" {json.dumps(key)}: {json.dumps(value)}{end}")
lines.append("}")
print("\n".join(lines))
