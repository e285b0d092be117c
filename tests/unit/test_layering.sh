#!/bin/sh
# test_layering.sh: fails when libbwc_consensus.a references libevent, LevelDB, jansson, a clock,
# randomness or I/O (STYLE.md "Layers in the build"): consensus code must be pure.
#
# Run by `make check` from the build directory, which holds libbwc_consensus.a; BWC_BUILDDIR
# overrides that, NM the nm to use. BWC_LAYERING_EXTRA adds names to forbid (space-separated),
# which is how the check itself is tested: BWC_LAYERING_EXTRA=EVP_Digest must fail.
set -u

lib=${BWC_BUILDDIR:-.}/libbwc_consensus.a
nm_cmd=${NM:-nm}

if [ ! -f "$lib" ]; then
    echo "test_layering: $lib not found (run from the build directory or set BWC_BUILDDIR)" >&2
    exit 1
fi

# Whole names: clocks, randomness, files, sockets, and output to streams. snprintf and
# friends stay allowed: they format into caller memory and touch nothing outside.
forbidden_names="
time clock clock_gettime gettimeofday ftime timespec_get
getrandom getentropy rand rand_r srand random srandom arc4random
fopen fopen64 freopen fdopen fclose fread fwrite fgets fputs fputc putc putchar puts
open open64 openat openat64 creat read write pread pwrite pread64 pwrite64 close
socket connect bind listen accept send recv sendto recvfrom
printf fprintf vprintf vfprintf dprintf vdprintf perror
stdin stdout stderr
${BWC_LAYERING_EXTRA:-}"
# Prefixes: libevent, LevelDB and jansson.
forbidden_prefixes="event_ evhttp_ evbuffer_ bufferevent_ evconnlistener_ evutil_ evdns_
leveldb_ json_"

# "nm -A -u" prints one "archive:member: U symbol" line per undefined reference; the
# fortified forms (__printf_chk, __read_chk, __open_2) are checked as the plain names.
undefined=$("$nm_cmd" -A -u "$lib" 2>/dev/null) || {
    echo "test_layering: '$nm_cmd -A -u $lib' failed" >&2
    exit 1
}

found=$(printf '%s\n' "$undefined" | awk -v names="$forbidden_names" -v prefixes="$forbidden_prefixes" '
    BEGIN {
        n = split(names, a, /[ \n\t]+/)
        for (i = 1; i <= n; i++) if (a[i] != "") bad[a[i]] = 1
        np = split(prefixes, pre, /[ \n\t]+/)
    }
    NF >= 2 {
        sym = $NF
        member = $1
        sub(/:$/, "", member)
        sub(/^[^:]*:/, "", member)
        plain = sym
        sub(/@.*/, "", plain)
        if (plain ~ /^__.*_chk$/) { sub(/^__/, "", plain); sub(/_chk$/, "", plain) }
        if (plain ~ /^__open(64)?_2$/ || plain ~ /^__openat(64)?_2$/) { sub(/^__/, "", plain); sub(/_2$/, "", plain) }
        hit = (plain in bad)
        for (i = 1; i <= np && !hit; i++)
            if (pre[i] != "" && index(plain, pre[i]) == 1) hit = 1
        if (hit) print "  " member ": " sym
    }')

if [ -n "$found" ]; then
    echo "test_layering: FAIL: libbwc_consensus.a references what consensus code must not use:"
    printf '%s\n' "$found" | sort -u
    exit 1
fi
echo "test_layering: ok: libbwc_consensus.a references no libevent, LevelDB, jansson, clock, randomness or I/O"
exit 0
