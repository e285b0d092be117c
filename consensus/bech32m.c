/* bech32m.c: BIP350 bech32m encoding and decoding, and the 32-byte-key addresses built on it. */
#include "consensus/bech32m.h"

#include <stdint.h>
#include <string.h>

/* BIP350: bech32m replaces bech32's final xor constant 1 with this one. */
#define BECH32M_CONST 0x2bc830a3u
#define CHECKSUM_LEN 6

/* Address data: 32 bytes = 256 bits, regrouped into ceil(256 / 5) = 52 5-bit values. */
#define ADDRESS_DATA5 52

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* Value of a bech32 data character (either case), or -1 if it is not one. */
static int charset_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
    for (int i = 0; i < 32; i++)
        if (charset[i] == c)
            return i;
    return -1;
}

static char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* One step of the BCH checksum over GF(32) (BIP173 polymod). */
static uint32_t polymod_step(uint32_t pre)
{
    uint32_t b = pre >> 25;
    return ((pre & 0x1ffffffu) << 5) ^ (-((b >> 0) & 1) & 0x3b6a57b2u) ^
           (-((b >> 1) & 1) & 0x26508e6du) ^ (-((b >> 2) & 1) & 0x1ea119fau) ^
           (-((b >> 3) & 1) & 0x3d4233ddu) ^ (-((b >> 4) & 1) & 0x2a1462b3u);
}

/* The checksum state after the expanded hrp (high bits, a zero, low bits); hrp in lower case. */
static uint32_t polymod_hrp(const char *hrp, size_t hrplen)
{
    uint32_t chk = 1;
    for (size_t i = 0; i < hrplen; i++)
        chk = polymod_step(chk) ^ ((unsigned char)to_lower(hrp[i]) >> 5);
    chk = polymod_step(chk);
    for (size_t i = 0; i < hrplen; i++)
        chk = polymod_step(chk) ^ ((unsigned char)to_lower(hrp[i]) & 31);
    return chk;
}

int bwc_bech32m_encode(char *out, size_t outcap, const char *hrp, const unsigned char *data5,
                       size_t n5)
{
    size_t hrplen = strlen(hrp);
    if (outcap > 0)
        out[0] = '\0';
    /* The total limit also bounds hrplen (at most 90 - 1 - 6 = 83) before any sum can wrap. */
    if (hrplen < 1 || hrplen > BWC_BECH32M_MAX || n5 > BWC_BECH32M_MAX ||
        hrplen + 1 + n5 + CHECKSUM_LEN > BWC_BECH32M_MAX ||
        hrplen + 1 + n5 + CHECKSUM_LEN >= outcap)
        return 0;
    for (size_t i = 0; i < hrplen; i++) {
        unsigned char c = (unsigned char)hrp[i];
        if (c < 33 || c > 126 || (c >= 'A' && c <= 'Z'))
            return 0;
    }
    for (size_t i = 0; i < n5; i++)
        if (data5[i] >> 5)
            return 0;

    uint32_t chk = polymod_hrp(hrp, hrplen);
    char *p = out;
    memcpy(p, hrp, hrplen);
    p += hrplen;
    *p++ = '1';
    for (size_t i = 0; i < n5; i++) {
        chk = polymod_step(chk) ^ data5[i];
        *p++ = charset[data5[i]];
    }
    for (int i = 0; i < CHECKSUM_LEN; i++)
        chk = polymod_step(chk);
    chk ^= BECH32M_CONST;
    for (int i = 0; i < CHECKSUM_LEN; i++)
        *p++ = charset[(chk >> ((CHECKSUM_LEN - 1 - i) * 5)) & 31];
    *p = '\0';
    return 1;
}

int bwc_bech32m_decode(char *hrp_out, size_t hrpcap, unsigned char *data5, size_t *n5,
                       size_t data5cap, const char *str)
{
    size_t len = 0, sep = 0;
    int lower = 0, upper = 0, have_sep = 0;

    if (hrpcap > 0)
        hrp_out[0] = '\0';
    memset(data5, 0, data5cap);
    *n5 = 0;
    /* One bounded pass: length, character range, case and the last '1'. */
    for (; str[len]; len++) {
        unsigned char c = (unsigned char)str[len];
        if (len >= BWC_BECH32M_MAX || c < 33 || c > 126)
            return 0;
        lower |= c >= 'a' && c <= 'z';
        upper |= c >= 'A' && c <= 'Z';
        if (c == '1')
            sep = len, have_sep = 1;
    }
    if (lower && upper)
        return 0;
    /* A non-empty hrp, then at least the checksum after the separator. */
    if (!have_sep || sep < 1 || sep + 1 + CHECKSUM_LEN > len)
        return 0;
    size_t ndata = len - sep - 1 - CHECKSUM_LEN;
    if (sep >= hrpcap || ndata > data5cap)
        return 0;

    uint32_t chk = polymod_hrp(str, sep);
    for (size_t i = sep + 1; i < len; i++) {
        int v = charset_value(str[i]);
        if (v < 0) {
            memset(data5, 0, data5cap);
            return 0;
        }
        chk = polymod_step(chk) ^ (uint32_t)v;
        if (i < len - CHECKSUM_LEN)
            data5[i - sep - 1] = (unsigned char)v;
    }
    if (chk != BECH32M_CONST) {
        memset(data5, 0, data5cap);
        return 0;
    }
    for (size_t i = 0; i < sep; i++)
        hrp_out[i] = to_lower(str[i]);
    hrp_out[sep] = '\0';
    *n5 = ndata;
    return 1;
}

int bwc_bech32m_convert_bits(unsigned char *out, size_t *outlen, size_t outcap, int outbits,
                             const unsigned char *in, size_t inlen, int inbits, int pad)
{
    if (inbits < 1 || inbits > 8 || outbits < 1 || outbits > 8)
        return 0;
    /* At most 7 + 8 bits are pending at once, so a 32-bit accumulator never loses bits. */
    uint32_t acc = 0, maxv = (1u << outbits) - 1;
    int bits = 0;
    for (size_t i = 0; i < inlen; i++) {
        if (in[i] >> inbits)
            return 0;
        acc = ((acc << inbits) | in[i]) & 0xffffu;
        bits += inbits;
        while (bits >= outbits) {
            bits -= outbits;
            if (*outlen >= outcap)
                return 0;
            out[(*outlen)++] = (unsigned char)((acc >> bits) & maxv);
        }
    }
    if (pad) {
        if (bits) {
            if (*outlen >= outcap)
                return 0;
            out[(*outlen)++] = (unsigned char)((acc << (outbits - bits)) & maxv);
        }
    } else if (bits >= inbits || ((acc << (outbits - bits)) & maxv)) {
        /* A whole leftover input group, or non-zero padding: not the output of a padded
         * conversion, so a second spelling of the same bytes (BIP173). */
        return 0;
    }
    return 1;
}

int bwc_address_encode(char *out, size_t outcap, const char *hrp, const bwc_pubkey *pk)
{
    unsigned char data5[ADDRESS_DATA5];
    size_t n5 = 0;
    if (!bwc_bech32m_convert_bits(data5, &n5, sizeof data5, 5, pk->b, sizeof pk->b, 8, 1)) {
        if (outcap > 0)
            out[0] = '\0';
        return 0;
    }
    return bwc_bech32m_encode(out, outcap, hrp, data5, n5);
}

/* ASCII case-insensitive string equality (the hrp is ASCII 33..126 by construction). */
static int hrp_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (to_lower(*a) != to_lower(*b))
            return 0;
    return *a == *b;
}

int bwc_address_decode(bwc_pubkey *pk, const char *hrp, const char *addr)
{
    char got_hrp[BWC_BECH32M_BUF];
    unsigned char data5[BWC_BECH32M_MAX];
    size_t n5 = 0, n8 = 0;

    memset(pk->b, 0, sizeof pk->b);
    if (!bwc_bech32m_decode(got_hrp, sizeof got_hrp, data5, &n5, sizeof data5, addr) ||
        !hrp_equal(got_hrp, hrp) || n5 != ADDRESS_DATA5)
        return 0;
    /* No padding allowed beyond the rule: 52 values give 260 bits, the last 4 must be zero. */
    if (!bwc_bech32m_convert_bits(pk->b, &n8, sizeof pk->b, 8, data5, n5, 5, 0) ||
        n8 != sizeof pk->b) {
        memset(pk->b, 0, sizeof pk->b);
        return 0;
    }
    return 1;
}
