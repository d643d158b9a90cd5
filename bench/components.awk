# Instructions of one callgrind dump by component: the crate a Rust function comes from, or the
# library of a C one. Input: `callgrind_annotate --inclusive=no --threshold=100 --auto=no DUMP`.
# Output: one `component<TAB>instructions` line per component, in no particular order.
#
# Functions are told apart by name: gatehouse statically links aws-lc and mimalloc, whose
# symbols are the only ones without a `::` path; libc's are told by their object file.

function component(fn, object,    parts) {
  if (object ~ /libc\.so|ld-linux|vdso/) return "libc (memcpy, memset, malloc for aws-lc, system calls)"
  if (fn ~ /^_?mi_/) return "mimalloc (the allocator)"
  if (fn ~ /^__rust|^__rdl/) return "alloc"
  if (fn !~ /::/) return "aws-lc (signatures, SHA-256)"
  # `<&mut serde_json::de::Deserializer<R> as serde::Deserializer>::f` belongs to serde_json,
  # `<u8 as core::fmt::Display>::fmt` to core.
  sub(/^(<|&|mut |dyn )+/, "", fn)
  split(fn, parts, "::")
  if (parts[1] ~ / as /) sub(/.* as /, "", parts[1])
  return parts[1]
}

/PROGRAM TOTALS/ { program = $1; gsub(",", "", program); next }
/file:function/ { table = 1; next }
table && /^-+$|^$/ { if (seen) table = 0; next }
table && /^ *[0-9][0-9,]* / {
  seen = 1
  n = $1
  gsub(",", "", n)
  # A frame still on the stack when the counts were dumped (the runtime's block_on, the thread's
  # start) is charged its unreturned call as its own cost: nearly the whole program. No real
  # function is.
  if (n + 0 >= 0.99 * program) next
  line = $0
  object = ""
  if (match(line, /\[[^]]*\] *$/)) object = substr(line, RSTART + 1, RLENGTH - 2)
  fn = line
  sub(/ *\[[^]]*\] *$/, "", fn)
  sub(/^ *[0-9,]+ +(\([^)]*\) +)?/, "", fn)
  fn = substr(fn, index(fn, ":") + 1)
  total[component(fn, object)] += n
}

END { for (c in total) printf "%s\t%.0f\n", c, total[c] }
