/* passphrase.h: getting the wallet passphrase from a file, the environment or a no-echo prompt. */
#ifndef BWC_WALLET_PASSPHRASE_H
#define BWC_WALLET_PASSPHRASE_H

#include <stddef.h>

#define BWC_PASSPHRASE_MAX 1024 /* bytes */
#define BWC_PASSPHRASE_ENV "BWC_WALLET_PASSPHRASE"
#define BWC_NEW_PASSPHRASE_ENV "BWC_WALLET_NEW_PASSPHRASE"

/* A passphrase in a fixed buffer; wipe it with bwc_passphrase_wipe when done. */
typedef struct {
    char s[BWC_PASSPHRASE_MAX + 1];
    size_t len;
} bwc_passphrase;

/* Gets a passphrase, from the first source that is set:
 *   file     the first line of this file (its line end removed), when file is non-NULL;
 *   envname  the environment variable of that name, when set (even to "");
 *   else a prompt on the controlling terminal (/dev/tty) with echo off, asked twice when
 *   confirm is set (a new passphrase), the two answers compared.
 * A new passphrase (confirm) may not be empty. Returns 0, or -1 with err (no source and no
 * terminal, an unreadable file, a passphrase over BWC_PASSPHRASE_MAX bytes, answers that
 * differ). The terminal's echo is restored even when the prompt is interrupted by a signal. */
int bwc_passphrase_get(bwc_passphrase *out, const char *file, const char *envname,
                       const char *prompt, int confirm, char *err, size_t errlen);

/* Overwrites the passphrase so that no copy stays in memory. */
void bwc_passphrase_wipe(bwc_passphrase *p);

#endif
