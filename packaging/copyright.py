#!/usr/bin/env python3
"""Writes a package's /usr/share/doc/<package>/copyright in Debian's machine-readable format.

Usage: copyright.py CARGO_PACKAGE [cargo tree flags…] > copyright

The package's own code is Apache-2.0. Its binary also statically links third-party Rust crates
(and aws-lc's and ring's C code, inside their crates): each gets a Files paragraph naming the
crate and version, its authors as Cargo declares them, its licence expression translated to
the format's short names, and, as the licence text, the crate's own licence and notice files
verbatim (a crate's MIT or BSD notice carries its copyright lines, which the licence requires
to be kept). Apache-2.0 texts are replaced by a pointer to /usr/share/common-licenses/Apache-2.0,
as Debian does. The crates are exactly those `cargo tree -e normal,no-proc-macro` lists for the
target: build scripts and procedural macros run at build time and are not in the binary.
"""
import json
import os
import re
import subprocess
import sys

TARGET = "x86_64-unknown-linux-gnu"
APACHE_POINTER = "On Debian systems, the full text of the Apache License 2.0 can be found in\n/usr/share/common-licenses/Apache-2.0."
# The MIT licence's text, for crates that declare MIT but ship no licence file.
EXPAT = """Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""
LICENCE_FILE = re.compile(r"^(licen[cs]e|copying|notice|copyright)", re.I)


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def dep5_expression(spdx):
    """An SPDX expression in the copyright format's syntax (MIT is called Expat there)."""
    s = spdx.replace("/", " OR ")
    s = re.sub(r"\bMIT\b(?!-)", "Expat", s)
    s = re.sub(r"\bOR\b", "or", s)
    s = re.sub(r"\bAND\b", "and", s)
    s = s.replace("BSD-3-Clause", "BSD-3-clause").replace("BSD-2-Clause", "BSD-2-clause")
    return re.sub(r"\s+", " ", s).strip()


# The Apache License 2.0's terms inside a longer file (aws-lc's LICENSE bundles several texts).
APACHE_TERMS = re.compile(
    r"^[ \t]*Apache License[ \t]*\n[ \t]*Version 2\.0, January 2004.*?END OF TERMS AND CONDITIONS[ \t]*$",
    re.S | re.M)


def is_apache_text(text):
    head = text.lstrip()[:400]
    return head.startswith("Apache License") and "Version 2.0, January 2004" in head


def licence_text(crate_dir, spdx):
    parts = []
    for name in sorted(os.listdir(crate_dir)):
        path = os.path.join(crate_dir, name)
        if not (LICENCE_FILE.match(name) and os.path.isfile(path)):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read().expandtabs()
        text = APACHE_POINTER if is_apache_text(text) else APACHE_TERMS.sub(APACHE_POINTER, text)
        parts.append(f"[{name}]\n" + text.strip())
    if not parts:
        parts.append(f"The crate ships no licence file; its Cargo.toml declares {spdx}.")
        if re.search(r"\bMIT\b(?!-)", spdx):
            parts.append("[MIT]\n" + EXPAT)
        if "Apache-2.0" in spdx:
            parts.append("[Apache-2.0]\n" + APACHE_POINTER)
    return "\n\n".join(parts)


def continuation(text):
    """Lines of a multi-line field: indented by one space, empty lines as ' .'."""
    lines = []
    for line in text.splitlines():
        line = line.rstrip()
        lines.append(" ." if not line else " " + line)
    return "\n".join(lines)


def main():
    package, tree_flags = sys.argv[1], sys.argv[2:]
    tree = run("cargo", "tree", "-p", package, *tree_flags, "-e", "normal,no-proc-macro",
               "--target", TARGET, "--prefix", "none", "--format", "{p}")
    linked = set()
    for line in tree.splitlines():
        m = re.match(r"^(\S+) v(\S+)( \(.*\))?$", line.replace(" (*)", ""))
        if m and not (m.group(3) or "").startswith(" (/"):  # path crates are this project's own
            linked.add((m.group(1), m.group(2)))
    meta = json.loads(run("cargo", "metadata", "--format-version", "1", "--filter-platform", TARGET))
    out = [
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
        "Upstream-Name: oauth_server",
        "Comment: The binary statically links the Rust crates listed below (Files: crates/…),",
        " each under its own licence, whose text is the crate's licence files verbatim.",
        "",
        "Files: *",
        "Copyright: 2026 the oauth_server developers",
        "License: Apache-2.0",
        "",
    ]
    found = set()
    for p in sorted(meta["packages"], key=lambda p: (p["name"], p["version"])):
        key = (p["name"], p["version"])
        if key not in linked or key in found:
            continue
        found.add(key)
        spdx = p.get("license") or "unknown"
        authors = [a for a in p.get("authors") or [] if a.strip()]
        out.append(f"Files: crates/{p['name']}-{p['version']}/*")
        out.append("Copyright: " + (authors[0] if authors else f"the {p['name']} authors"))
        out.extend(" " + a for a in authors[1:])
        out.append(f"License: {dep5_expression(spdx)}")
        out.append(continuation(licence_text(os.path.dirname(p["manifest_path"]), spdx)))
        out.append("")
    missing = linked - found
    if missing:
        sys.exit(f"copyright.py: no Cargo metadata for {sorted(missing)}")
    out += ["License: Apache-2.0", continuation(APACHE_POINTER)]
    print("\n".join(out))


if __name__ == "__main__":
    main()
