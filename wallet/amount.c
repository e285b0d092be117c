/* amount.c: strict parsing of amounts, sizes and heights; formatting of amounts. */
#include "wallet/amount.h"

#include <stdio.h>
#include <string.h>

#include "consensus/types.h"

#define DECIMALS 8

/* Parses n decimal digits at s into *out. Returns 0, or -1 on a non-digit or overflow. */
static int digits_value(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int only_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

int bwc_amount_parse(uint64_t *out, const char *s, char *err, size_t errlen)
{
    size_t n = strlen(s);
    uint64_t whole, frac = 0;
    *out = 0;
    if (n > 0 && s[n - 1] == 'u') {
        if (!only_digits(s, n - 1))
            goto bad;
        if (digits_value(s, n - 1, out) != 0)
            goto overflow;
        return 0;
    }
    const char *dot = memchr(s, '.', n);
    size_t wn = dot ? (size_t)(dot - s) : n;
    if (!only_digits(s, wn))
        goto bad;
    if (dot) {
        size_t fn = n - wn - 1;
        if (!only_digits(dot + 1, fn))
            goto bad;
        if (fn > DECIMALS) {
            snprintf(err, errlen,
                     "bad amount '%.40s': at most 8 decimals (1 BWC = 100000000 units; the "
                     "smallest amount is 0.00000001 or 1u)",
                     s);
            return -1;
        }
        digits_value(dot + 1, fn, &frac);
        for (size_t i = fn; i < DECIMALS; i++)
            frac *= 10;
    }
    if (digits_value(s, wn, &whole) != 0 || whole > (UINT64_MAX - frac) / BWC_UNITS_PER_COIN)
        goto overflow;
    *out = whole * BWC_UNITS_PER_COIN + frac;
    return 0;
bad:
    snprintf(err, errlen,
             "bad amount '%.40s': write BWC as 1.5 (at most 8 decimals) or units as 150000000u", s);
    return -1;
overflow:
    snprintf(err, errlen, "bad amount '%.40s': too large", s);
    return -1;
}

char *bwc_amount_format(char *out, uint64_t units)
{
    snprintf(out, BWC_AMOUNT_STR_MAX, "%llu.%08llu",
             (unsigned long long)(units / BWC_UNITS_PER_COIN),
             (unsigned long long)(units % BWC_UNITS_PER_COIN));
    return out;
}

int bwc_uint_parse(uint64_t *out, const char *s, const char *what, char *err, size_t errlen)
{
    if (!only_digits(s, strlen(s)) || digits_value(s, strlen(s), out) != 0) {
        *out = 0;
        snprintf(err, errlen, "%s '%.40s': expected a non-negative integer", what, s);
        return -1;
    }
    return 0;
}

int bwc_size_parse(uint64_t *out, const char *s, const char *what, char *err, size_t errlen)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
    size_t n = strlen(s), dn = n;
    unsigned shift = 0;
    uint64_t v;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t sl = strlen(units[i].suffix);
        if (n > sl && strcmp(s + n - sl, units[i].suffix) == 0) {
            dn = n - sl;
            shift = units[i].shift;
        }
    }
    *out = 0;
    if (!only_digits(s, dn) || digits_value(s, dn, &v) != 0 || (shift && v > UINT64_MAX >> shift)) {
        snprintf(err, errlen,
                 "%s '%.40s': expected a number of bytes, optionally with KiB, MiB, GiB or TiB",
                 what, s);
        return -1;
    }
    *out = v << shift;
    return 0;
}

int bwc_height_parse(uint64_t *out, const char *s, uint64_t tip, const char *what, char *err,
                     size_t errlen)
{
    uint64_t v;
    int rel = s[0] == '+';
    const char *d = rel ? s + 1 : s;
    *out = 0;
    if (!only_digits(d, strlen(d)) || digits_value(d, strlen(d), &v) != 0 ||
        (rel && v > UINT64_MAX - tip)) {
        snprintf(err, errlen, "%s '%.40s': expected a block height H or +N (N blocks from now)",
                 what, s);
        return -1;
    }
    *out = rel ? tip + v : v;
    return 0;
}
