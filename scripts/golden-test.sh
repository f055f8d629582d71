#!/usr/bin/env bash
# Golden SQL tests: the docs' examples, run and compared with their recorded output (as
# pg_graphql's test/sql + test/expected). Each tests/sql/<name>.sql runs in one transaction
# (begin … rollback) on a throwaway database and must print exactly tests/expected/<name>.out;
# the docs quote those files. Output is deterministic: random ids, secrets, tokens and times are
# kept in psql variables (\gset) or masked, never printed.
# Also checks every relative link (and #anchor) in README.md, ARCHITECTURE.md and docs/*.md,
# and that each output the docs quote (<!-- golden: tests/expected/X.out --> before a fenced
# block) is a run of lines of that file.
#   scripts/golden-test.sh                 every file
#   scripts/golden-test.sh quickstart rls  only these
#   GOLDEN_UPDATE=1 scripts/golden-test.sh rewrites tests/expected/ from what the files print,
#                                         and re-quotes the docs' blocks from them
#   GOLDEN_LINKS_ONLY=1 scripts/golden-test.sh  only the docs checks (no Postgres)
# Needs the extension installed (cargo pgrx install); starts (and then stops), or reuses, a
# cluster on port OAUTH_GOLDEN_PORT (the port plan, scripts/lib.sh) under
# ${OAUTH_TEST_DIR:-/tmp/oauth_server-test}/golden, of PG_MAJOR (scripts/lib.sh; default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
OAUTH_LIB_NO_SELECT=1 source scripts/lib.sh
DIR=$TEST_ROOT/golden
PORT=${OAUTH_GOLDEN_PORT:-$PLAN_GOLDEN_PG}

# Relative links: the file must exist, and a #fragment must be a heading's GitHub slug or an
# explicit <a id="…"> in the target file.
python3 - README.md ARCHITECTURE.md docs/*.md <<'PY'
import os, re, sys
def anchors(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    found = set(re.findall(r'<a id="([^"]+)"', text))
    seen = {}
    for h in re.findall(r"^#{1,6} +(.+?) *#*$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found
bad = 0
for src in [a for a in sys.argv[1:] if os.path.exists(a)]:
    text = re.sub(r"```.*?```", "", open(src, encoding="utf-8").read(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto:
        path, _, frag = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(src), path)) if path else src
        if not os.path.exists(dest):
            print(f"{src}: broken link {target}: no {dest}")
            bad += 1
        elif frag and dest.endswith(".md") and frag not in anchors(dest):
            print(f"{src}: broken link {target}: no anchor #{frag} in {dest}")
            bad += 1
# Quoted output: the fenced block after <!-- golden: tests/expected/X.out --> must be a run of
# consecutive lines of that file, so the docs never show output the tests did not print.
for src in [a for a in sys.argv[1:] if os.path.exists(a)]:
    text = open(src, encoding="utf-8").read()
    for m in re.finditer(r"<!-- golden: (\S+) -->\n```[a-z]*\n(.*?)```", text, flags=re.S):
        if not os.path.exists(m.group(1)):
            print(f"{src}: quotes {m.group(1)}, which does not exist")
            bad += 1
        elif m.group(2) not in open(m.group(1), encoding="utf-8").read():
            print(f"{src}: the block quoting {m.group(1)} differs from it (GOLDEN_UPDATE=1 then re-quote)")
            bad += 1
sys.exit(1 if bad else 0)
PY
echo "docs: relative links resolve, quoted outputs match tests/expected/"
[ "${GOLDEN_LINKS_ONLY:-0}" = 1 ] && exit 0
pg_select

# A cluster this run starts is stopped at the end; one already running is reused and left up.
started=0
if [ ! -S "$DIR/sock/.s.PGSQL.$PORT" ]; then
  bash scripts/cluster.sh start "$DIR" "$PORT"
  started=1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"; [ $started = 0 ] || bash scripts/cluster.sh stop "$DIR"' EXIT
running=$(psql -X -At -h "$DIR/sock" -p "$PORT" -U postgres -d postgres -c "SELECT current_setting('server_version_num')::int / 10000")
[ "$running" = "$PG_MAJOR" ] || { echo "the cluster at $DIR (port $PORT) is PostgreSQL $running, not $PG_MAJOR: stop it or set OAUTH_TEST_DIR" >&2; exit 1; }
PSQL=(psql -X -h "$DIR/sock" -p "$PORT" -U postgres)
# A fresh database each run, so that nothing one run left (none should: every file rolls
# back) can change the next run's output.
"${PSQL[@]}" -q -d postgres -c "DROP DATABASE IF EXISTS golden" -c "CREATE DATABASE golden"
"${PSQL[@]}" -q -d golden -v ON_ERROR_STOP=1 -c "CREATE EXTENSION oauth_server"

names=("$@")
if [ ${#names[@]} = 0 ]; then
  for f in tests/sql/*.sql; do names+=("$(basename "$f" .sql)"); done
fi
failed=0
for name in "${names[@]}"; do
  # Input from stdin, as pg_regress does, so error messages carry no file name or line.
  "${PSQL[@]}" -d golden -a -q -v ON_ERROR_STOP=0 <"tests/sql/$name.sql" >"$out/$name.out" 2>&1 || true
  if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
    cp "$out/$name.out" "tests/expected/$name.out"
    echo "updated tests/expected/$name.out"
  elif diff -u "tests/expected/$name.out" "$out/$name.out"; then
    echo "ok   $name"
  else
    echo "FAIL $name (diff above: - expected, + actual)"
    failed=1
  fi
done
# After an update, re-quote the docs: each quoted block becomes the lines of its file from the
# block's first line to its last line (the same excerpt, with the new output in between).
if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
  python3 - README.md ARCHITECTURE.md docs/*.md <<'PY'
import os, re, sys
pat = re.compile(r"(<!-- golden: (\S+) -->\n```[a-z]*\n)(.*?)(```)", re.S)
for src in [a for a in sys.argv[1:] if os.path.exists(a)]:
    text = open(src, encoding="utf-8").read()
    def requote(m):
        lines = open(m.group(2), encoding="utf-8").read().splitlines(keepends=True)
        old = m.group(3).splitlines(keepends=True)
        try:
            i = lines.index(old[0])
            j = next(k for k in range(len(lines) - 1, i - 1, -1) if lines[k] == old[-1])
        except (ValueError, StopIteration, IndexError):
            print(f"{src}: cannot re-quote {m.group(2)}: its first or last line is gone; edit by hand")
            return m.group(0)
        return m.group(1) + "".join(lines[i:j + 1]) + m.group(4)
    new = pat.sub(requote, text)
    if new != text:
        open(src, "w", encoding="utf-8").write(new)
        print(f"re-quoted {src}")
PY
fi
exit $failed
