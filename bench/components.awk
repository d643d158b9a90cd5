# Instructions of one callgrind dump by component: the crate a Rust function comes from, or the
# library of a C one. Input: `callgrind_annotate --inclusive=no --threshold=100 --auto=no DUMP`
# of a process with one worker thread. Output: one `component<TAB>instructions` line per
# component, in no particular order. Exits non-zero, printing why, when the parts do not add up
# to the dump's total within 1%.

function component(fn, object) {
  if (object ~ /libc\.so|ld-linux|vdso/) return "libc (memcpy, memset, system calls)"
  # Any other shared object by its file name (libgcc_s for unwinding, say).
  if (object ~ /\.so/) { sub(/.*\//, "", object); return object }
  if (fn ~ /^0x[0-9a-f]+$/) return "unresolved addresses"
  if (fn ~ /^_?mi_/) return "mimalloc (the allocator)"
  # The C allocation functions defined in the binary are mimalloc's (its `override`), through
  # which aws-lc allocates; glibc's own are in libc.so above.
  if (fn ~ /^(malloc|calloc|realloc|reallocarray|free|cfree|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|malloc_usable_size|malloc_size|strn?dup)$/) return "mimalloc (the allocator)"
  if (fn ~ /^__rust|^__rdl|^__rg_/) return "alloc"
  if (fn ~ /^ring_core/) return "ring"
  if (fn ~ /^sqlite3|^fts5/) return "sqlite"
  # compiler-builtins (`__udivti3`, `__floatuntidf`) and the unwinder; not aws-lc's own
  # double-underscore assembly (`__ecp_nistz256_mul_montq`).
  if (fn ~ /^_Unwind|^__(u?(div|mod|mul)[a-z]*[0-9]|float|fix|extend|trunc|powi|clz|ctz|popcount|ash|lsh)/) return "compiler runtime"
  # What else the binary holds without a Rust path is aws-lc's C and assembly, static functions
  # (`bn_sqr8x_internal`, `sha256_block_data_order_avx`) as well as prefixed ones.
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
  # function is. (With several worker threads each would carry a share, and the sum below
  # would catch it.)
  if (n + 0 >= 0.99 * program) next
  line = $0
  object = ""
  if (match(line, /\[[^]]*\] *$/)) object = substr(line, RSTART + 1, RLENGTH - 2)
  fn = line
  sub(/ *\[[^]]*\] *$/, "", fn)
  sub(/^ *[0-9,]+ +(\([^)]*\) +)?/, "", fn)
  fn = substr(fn, index(fn, ":") + 1)
  total[component(fn, object)] += n
  sum += n
}

END {
  if (program + 0 <= 0) { print "components.awk: no PROGRAM TOTALS in the input" > "/dev/stderr"; exit 1 }
  if (sum > 1.01 * program || sum < 0.99 * program) {
    printf "components.awk: the parts sum to %.0f, the dump's total is %.0f\n", sum, program > "/dev/stderr"
    exit 1
  }
  for (c in total) printf "%s\t%.0f\n", c, total[c]
}
