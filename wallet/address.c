/* address.c: user-typed addresses, keys and ids, refused with a reason a person can act on. */
#include "wallet/address.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "consensus/bech32m.h"
#include "consensus/key.h"

static const char CHARSET[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* Why s is not a bech32m string for hrp, assuming it is not one. */
static const char *why_not(const char *s, const char *hrp, char *buf, size_t buflen)
{
    size_t n = strlen(s);
    int lower = 0, upper = 0;
    if (n == 0)
        return "it is empty";
    if (n > BWC_BECH32M_MAX)
        return "it is too long";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 33 || c > 126)
            return "it contains a space or a character that cannot be in an address";
        lower |= islower(c) != 0;
        upper |= isupper(c) != 0;
    }
    if (lower && upper)
        return "it mixes upper and lower case";
    const char *sep = strrchr(s, '1');
    if (!sep || sep == s) {
        snprintf(buf, buflen, "it has no prefix (this chain's addresses start with '%s1')", hrp);
        return buf;
    }
    size_t hl = (size_t)(sep - s);
    int same = hl == strlen(hrp);
    for (size_t i = 0; same && i < hl; i++)
        same = tolower((unsigned char)s[i]) == hrp[i];
    if (!same) {
        snprintf(buf, buflen,
                 "it is for another chain (prefix '%.*s1'; this chain's addresses start with "
                 "'%s1')",
                 (int)(hl > 20 ? 20 : hl), s, hrp);
        return buf;
    }
    for (const char *p = sep + 1; *p; p++) {
        if (!strchr(CHARSET, tolower((unsigned char)*p))) {
            snprintf(buf, buflen, "'%c' is not a bech32m character", *p);
            return buf;
        }
    }
    if (strlen(sep + 1) < 6)
        return "it is too short";
    return "bad checksum (a mistyped or truncated address?)";
}

int bwc_wallet_parse_address(const secp256k1_context *secp, const char *hrp, const char *s,
                             bwc_pubkey *pk, char *err, size_t errlen)
{
    char hrp_out[BWC_BECH32M_BUF], buf[160];
    unsigned char data5[BWC_BECH32M_MAX];
    size_t n5;
    const char *why = NULL;

    if (!bwc_bech32m_decode(hrp_out, sizeof hrp_out, data5, &n5, sizeof data5, s))
        why = why_not(s, hrp, buf, sizeof buf);
    else if (strcmp(hrp_out, hrp) != 0)
        why = why_not(s, hrp, buf, sizeof buf); /* names the other prefix */
    else if (!bwc_address_decode(pk, hrp, s))
        why = "it does not hold a 32-byte key (wrong length)";
    else if (!bwc_pubkey_valid(secp, pk))
        why = "its key is not on the curve, so nothing sent there could ever be spent";
    if (!why)
        return 0;
    memset(pk, 0, sizeof *pk);
    snprintf(err, errlen, "invalid address '%.100s': %s", s, why);
    return -1;
}

int bwc_wallet_parse_pubkey(const secp256k1_context *secp, const char *hrp, const char *s,
                            const char *what, bwc_pubkey *pk, char *err, size_t errlen)
{
    if (strlen(s) == 64 && bwc_hex_decode(pk->b, 32, s)) {
        if (bwc_pubkey_valid(secp, pk))
            return 0;
        memset(pk, 0, sizeof *pk);
        snprintf(err, errlen, "%s: the key %.64s is not on the curve", what, s);
        return -1;
    }
    char inner[512];
    if (bwc_wallet_parse_address(secp, hrp, s, pk, inner, sizeof inner) == 0)
        return 0;
    snprintf(err, errlen, "%s: expected an address or 64 hex digits; %s", what, inner);
    return -1;
}

int bwc_wallet_parse_hash(const char *s, const char *what, bwc_hash *h, char *err, size_t errlen)
{
    if (strlen(s) == 64 && bwc_hex_decode(h->b, 32, s))
        return 0;
    memset(h, 0, sizeof *h);
    snprintf(err, errlen, "%s '%.80s': expected 64 hex digits", what, s);
    return -1;
}
