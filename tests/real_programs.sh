#!/bin/sh
# real_programs.sh - real programs give the same output on HAKMEM as on glibc.
#
# Each program runs twice in the same fresh directory: once on the C
# library's malloc and once with LD_PRELOAD=$LIBHAKMEM_SO; the standard output
# of the two runs must be identical byte for byte and both must exit 0.
# The preloaded run also records the dynamic linker's symbol bindings
# (LD_DEBUG=bindings, written to files), and the test requires that the
# program's process bound `malloc' to libhakmem, so a run that silently
# stayed on glibc cannot pass.  A program that is not installed is skipped.
#
# Environment: LIBHAKMEM_SO (set by the test harness; defaults to the build
# tree's .libs/libhakmem.so).

set -u

so=${LIBHAKMEM_SO:-${abs_top_builddir:-.}/.libs/libhakmem.so}
case $so in
/*) ;;
*) so=$(pwd)/$so ;;
esac
tests=8
echo "1..$tests"
if [ ! -r "$so" ]; then
  echo "Bail out! $so not found (build the library first)"
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-real.XXXXXX") || {
  echo "Bail out! mktemp failed"
  exit 1
}
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

. "$(dirname "$0")/tap.sh"
diag() {
  sed 's/^/# /'
}

# Deterministic, self-contained runs.
LC_ALL=C
export LC_ALL
unset LD_PRELOAD LD_DEBUG LD_DEBUG_OUTPUT

# compare NAME PROCESS TEXT: runs $tmp/NAME.sh in $tmp/NAME/work on glibc,
# then on HAKMEM, and compares.  PROCESS is a pattern for the binary whose
# malloc must bind to libhakmem (matched in LD_DEBUG's "binding file" lines).
compare() {
  name=$1 proc=$2 text=$3
  base=$tmp/$name
  for mode in plain hak; do
    rm -rf "$base/work"
    mkdir -p "$base/work"
    if [ "$mode" = hak ]; then
      (cd "$base/work" && LD_PRELOAD=$so LD_DEBUG=bindings LD_DEBUG_OUTPUT=$base/ld \
        timeout 300 sh "$base.sh") >"$base.$mode.out" 2>"$base.$mode.err"
    else
      (cd "$base/work" && timeout 300 sh "$base.sh") >"$base.$mode.out" 2>"$base.$mode.err"
    fi
    echo $? >"$base.$mode.rc"
  done
  rc_plain=$(cat "$base.plain.rc")
  rc_hak=$(cat "$base.hak.rc")
  bound=no
  for f in "$base"/ld.*; do
    [ -r "$f" ] || continue
    if grep -q "binding file [^ ]*$proc[^ ]* \[0\] to " "$f" &&
      grep -q "to [^ ]*libhakmem[^ ]* \[0\]: normal symbol \`malloc'" "$f"; then
      bound=yes
      break
    fi
  done
  status=0
  if [ "$rc_plain" -ne 0 ]; then
    echo "$name exited with status $rc_plain on glibc; stderr:" | diag
    head -n 20 "$base.plain.err" | diag
    status=1
  fi
  if [ "$rc_hak" -ne 0 ]; then
    echo "$name exited with status $rc_hak on HAKMEM; stderr:" | diag
    head -n 20 "$base.hak.err" | diag
    status=1
  fi
  if ! cmp -s "$base.plain.out" "$base.hak.out"; then
    echo "$name: output differs between glibc and HAKMEM:" | diag
    diff "$base.plain.out" "$base.hak.out" | head -n 20 | diag
    status=1
  fi
  if [ ! -s "$base.plain.out" ]; then
    echo "$name printed nothing" | diag
    status=1
  fi
  if [ "$bound" != yes ]; then
    echo "$name: no process matching '$proc' bound malloc to libhakmem (LD_DEBUG=bindings)" | diag
    status=1
  fi
  if grep -q '^hakmem:' "$base.hak.err"; then
    echo "$name: HAKMEM wrote messages:" | diag
    grep '^hakmem:' "$base.hak.err" | head -n 10 | diag
    status=1
  fi
  ok $status "$text"
}

have() {
  command -v "$1" >/dev/null 2>&1
}

# 1. Python: dicts, lists, strings, a JSON round trip; every object through
# malloc (PYTHONMALLOC=malloc bypasses Python's own small-object arenas).
if have python3; then
  cat >"$tmp/python.sh" <<'EOF'
export PYTHONHASHSEED=0 PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1
exec python3 - <<'PY'
import hashlib, json, random
random.seed(12345)
d = {}
for i in range(200000):
    d["k%d" % i] = [i, str(i) * (i % 7), {"x": i * 0.5, "t": (i, -i)}]
items = sorted(d.items(), key=lambda kv: (len(kv[1][1]), kv[0]))
s = json.dumps(items[:60000], sort_keys=True)
back = json.loads(s)
assert json.dumps(back, sort_keys=True) == s
words = ["".join(random.choice("abcdefgh") for _ in range(random.randint(1, 40)))
         for _ in range(100000)]
counts = {}
for w in words:
    counts[w] = counts.get(w, 0) + 1
big = "-".join(words)
parts = big.split("-")
buf = bytearray()
for p in parts:
    buf += p.encode() * 3
del d, items
print(len(back), len(counts), len(big), len(buf))
print(hashlib.sha256(s.encode() + big.encode() + bytes(buf)).hexdigest())
PY
EOF
  compare python python 'python3: dicts, lists, strings, JSON round trip'
else
  skip python3 'not installed'
fi

# 2. gcc compiling a small C program; the assembly and the program's output
# (the program itself runs preloaded too) must match.
if have gcc; then
  cat >"$tmp/gcc.sh" <<'EOF'
cat >prog.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; char *key; long val; };
static unsigned long hash(const char *s) { unsigned long h = 5381; while (*s) h = h * 33 + (unsigned char)*s++; return h; }
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
int main(void) {
  enum { NB = 4096, N = 100000 };
  struct node **tab = calloc(NB, sizeof *tab);
  char **keys = malloc(N * sizeof *keys);
  for (long i = 0; i < N; i++) {
    char buf[64];
    snprintf(buf, sizeof buf, "key-%ld-%lx", i * 7919 % N, (unsigned long)i * 2654435761u);
    struct node *n = malloc(sizeof *n);
    n->key = strdup(buf);
    n->val = i;
    unsigned long h = hash(buf) % NB;
    n->next = tab[h];
    tab[h] = n;
    keys[i] = n->key;
  }
  qsort(keys, N, sizeof *keys, cmp);
  unsigned long sum = 0;
  for (long i = 0; i < N; i += 997) sum = sum * 31 + hash(keys[i]);
  long longest = 0;
  for (int b = 0; b < NB; b++) {
    long len = 0;
    for (struct node *n = tab[b], *next; n; n = next) { next = n->next; len++; free(n->key); free(n); }
    if (len > longest) longest = len;
  }
  free(keys);
  free(tab);
  printf("%lu %ld\n", sum, longest);
  return 0;
}
C
gcc -O2 -S -o prog.s prog.c || exit 1
gcc -O2 -o prog prog.c || exit 1
cat prog.s
./prog
EOF
  compare gcc cc1 'gcc: compiles a C program; same assembly and program output'
else
  skip gcc 'not installed'
fi

# 3. sqlite3: a table of 20000 rows built, indexed, updated and queried.
if have sqlite3; then
  cat >"$tmp/sqlite.sh" <<'EOF'
sqlite3 test.db <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, val REAL, grp INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO t SELECT x, printf('name-%06d-%s', (x * 7919) % 20011, hex(x * 2654435761)),
  x * 1.5, x % 97 FROM c;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, val);
SELECT grp, count(*), sum(val), min(name), max(name) FROM t GROUP BY grp ORDER BY grp;
SELECT count(*), sum(length(name)), total(val) FROM t WHERE name LIKE '%77%';
UPDATE t SET name = name || '-' || hex(id * 31) || id WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), sum(id), sum(length(name)) FROM t;
SELECT id, name, val FROM t ORDER BY name;
SELECT sum(unicode(substr(name, 6, 1)) * id), length(group_concat(name, ',')) FROM t;
PRAGMA integrity_check;
SQL
EOF
  compare sqlite sqlite3 'sqlite3: insert 20000 rows, index, update, query'
else
  skip sqlite3 'not installed'
fi

# 4. git: a repository with a few commits, with fixed identities and dates
# so that every object id is the same in both runs.
if have git; then
  cat >"$tmp/git.sh" <<'EOF'
set -e
export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=Test GIT_AUTHOR_EMAIL=test@example.org
export GIT_COMMITTER_NAME=Test GIT_COMMITTER_EMAIL=test@example.org
git init -q repo
cd repo
for c in 1 2 3 4 5; do
  export GIT_AUTHOR_DATE="2024-01-0${c}T12:00:00+0000" GIT_COMMITTER_DATE="2024-01-0${c}T12:00:00+0000"
  i=0
  while [ $i -lt 60 ]; do
    seq $((i * c)) $((i * c + 200)) >"file$i.txt"
    i=$((i + 1))
  done
  git add -A
  git commit -q -m "commit $c"
done
git log --stat --format='%H %an %ad %s' --date=iso-strict
git diff HEAD~3 HEAD | head -n 2000
git grep -c '^1[0-9]7$' HEAD | head -n 50
git fsck --no-progress 2>&1
git rev-list --all --objects | sort
EOF
  compare git git 'git: init, add, commit, log, diff, grep, fsck'
else
  skip git 'not installed'
fi

# 5. perl: hashes and regular expressions.
if have perl; then
  cat >"$tmp/perl.sh" <<'EOF'
PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 exec perl -e '
use strict; use warnings;
my %h;
for my $i (1 .. 200000) { $h{"key$i"} = join(",", map { $_ * $i } 1 .. 5); }
my $n = 0;
for my $k (sort keys %h) { $n++ if $h{$k} =~ /(\d)\1/; }
my $text = join(" ", map { ("word$_" x ($_ % 5 + 1)) } 1 .. 100000);
my @m = ($text =~ /(word\d+7)\b/g);
my %cnt;
$cnt{length $_}++ for split / /, $text;
(my $t2 = $text) =~ s/word(\d)(\d*)/W$2$1/g;
delete @h{grep { /7/ } keys %h};
print scalar(keys %h), " $n ", scalar(@m), " ", length($t2), "\n";
print join(",", map { "$_=$cnt{$_}" } sort { $a <=> $b } keys %cnt), "\n";
print unpack("%32C*", $text), " ", unpack("%32C*", $t2), "\n";
'
EOF
  compare perl perl 'perl: hashes and regular expressions'
else
  skip perl 'not installed'
fi

# 6. sort --parallel=4: a multi-threaded program on 1,000,000 lines.
if have sort && sort --parallel=2 </dev/null >/dev/null 2>&1; then
  awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "%d %07d %s\n", (i * 7919) % 100003, i, substr("abcdefghijklmnopqrstuvwxyz", i % 26 + 1, i % 13 + 1) }' \
    >"$tmp/sort.in"
  cat >"$tmp/sort.sh" <<EOF
sort --parallel=4 -S 200M -k1,1n -k3,3 -k2,2 "$tmp/sort.in" >sorted || exit 1
cksum <sorted
head -n 5 sorted
tail -n 5 sorted
EOF
  compare sort sort 'sort --parallel=4 on 1,000,000 lines'
else
  skip 'sort --parallel' 'sort has no --parallel'
fi

# 7. Python threads passing objects through queues (frees in other threads).
if have python3; then
  cat >"$tmp/pythreads.sh" <<'EOF'
export PYTHONHASHSEED=0 PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1
exec python3 - <<'PY'
import queue, threading
N, P = 40000, 4
q = queue.Queue(maxsize=1000)
results = []
lock = threading.Lock()
def produce(k):
    for i in range(N):
        q.put({"k": k, "i": i, "s": ("x%d" % i) * (i % 9), "l": list(range(i % 17))})
def consume():
    total = 0
    while True:
        item = q.get()
        if item is None:
            break
        total += item["i"] + len(item["s"]) + sum(item["l"])
    with lock:
        results.append(total)
cons = [threading.Thread(target=consume) for _ in range(3)]
prods = [threading.Thread(target=produce, args=(k,)) for k in range(P)]
for t in cons + prods:
    t.start()
for t in prods:
    t.join()
for _ in cons:
    q.put(None)
for t in cons:
    t.join()
print(sum(results))
PY
EOF
  compare pythreads python 'python3 threads: objects made in one thread, freed in another'
else
  skip "python3 threads" 'not installed'
fi

# 8. Python's own regression tests for its containers, strings, numbers,
# serialisation, garbage collector and threads, where installed (Debian:
# libpython3.X-testsuite); the list run and the verdict must match.
if have python3 && python3 -c 'import test.libregrtest, test.test_list' 2>/dev/null; then
  cat >"$tmp/pytests.sh" <<'EOF'
export PYTHONHASHSEED=0 PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1
tests=$(python3 -c '
import importlib.util
names = """test_list test_tuple test_dict test_ordered_dict test_set test_unicode
test_str test_bytes test_memoryview test_array test_struct test_deque test_heapq
test_sort test_itertools test_functools test_collections test_descr test_enum
test_long test_decimal test_re test_json test_hashlib test_zlib test_gc test_thread
test_threading_local""".split()
print(" ".join(n for n in names if importlib.util.find_spec("test." + n)))')
echo "$tests"
python3 -m test $tests >log 2>&1
rc=$?
grep -E '(Tests result|^Result): ' log | sort -u
[ $rc -eq 0 ] || tail -n 30 log >&2
exit $rc
EOF
  compare pytests python "python3's regression tests: containers, strings, numbers, gc, threads"
else
  skip "python3's regression tests" 'not installed'
fi

[ "$n" -eq "$tests" ] || echo "# ran $n of $tests tests"
[ "$failed" -eq 0 ]
