/* txbuild.h: signing and encoding the wallet's transactions with the consensus code. */
#ifndef BWC_WALLET_TXBUILD_H
#define BWC_WALLET_TXBUILD_H

#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#include "consensus/tx.h"

/* Signs tx for chain_id with the 32-byte secret: checks that tx->from is the secret's key,
 * computes txid = TH("bwc/tx", chain_id || enc(tx\{15})), signs it with BIP340 and 32 bytes of
 * auxiliary randomness from the OS (PROTOCOL.md §1), encodes the signed transaction and
 * decodes it again with bwc_tx_decode, so that nothing the node's decoder would refuse (a bad
 * endpoint, an over-long memo) is ever sent. On success returns 0, sets tx->sig, *txid and
 * *hex (lower-case hex of the encoding, NUL-terminated, malloc'd: the caller frees it). On
 * failure returns -1 with err (and the decoder's reject string in it when that refused). */
int bwc_txbuild_sign(const secp256k1_context *secp, bwc_tx *tx, const unsigned char secret[32],
                     const bwc_hash *chain_id, bwc_hash *txid, char **hex, char *err,
                     size_t errlen);

/* What tx takes from its sender's balance: fee plus the transfer amount, channel deposit or
 * sponsor amount. Returns 1 with *cost set, or 0 when the sum overflows. */
int bwc_txbuild_cost(const bwc_tx *tx, uint64_t *cost);

#endif
