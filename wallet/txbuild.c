/* txbuild.c: transactions signed and encoded by the consensus code, checked by its decoder. */
#include "wallet/txbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "common/random.h"
#include "consensus/key.h"

int bwc_txbuild_sign(const secp256k1_context *secp, bwc_tx *tx, const unsigned char secret[32],
                     const bwc_hash *chain_id, bwc_hash *txid, char **hex, char *err, size_t errlen)
{
    unsigned char aux[32];
    bwc_pubkey pub;
    bwc_buf enc = BWC_BUF_INIT;
    bwc_result res;
    bwc_tx check;
    int rc = -1;

    *hex = NULL;
    memset(txid, 0, sizeof *txid);
    if (!bwc_key_pubkey(secp, &pub, secret) || memcmp(pub.b, tx->from.b, 32) != 0) {
        snprintf(err, errlen, "internal error: the signing key is not the sender");
        return -1;
    }
    if (bwc_random_bytes(aux, sizeof aux) != 0) {
        snprintf(err, errlen, "the operating system gave no random bytes for signing");
        return -1;
    }
    bwc_tx_id(chain_id, tx, txid);
    if (!bwc_sign(secp, &tx->sig, secret, txid, aux)) {
        snprintf(err, errlen, "signing failed");
        goto out;
    }
    if (!bwc_tx_encode(tx, 0, &enc) || enc.oom) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!bwc_tx_decode(&check, enc.data, enc.len, &res)) {
        snprintf(err, errlen, "the transaction would be refused: %s", res.reject);
        goto out;
    }
    if (!(*hex = malloc(enc.len * 2 + 1))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    bwc_hex_encode(*hex, enc.data, enc.len);
    rc = 0;
out:
    bwc_cleanse(aux, sizeof aux);
    bwc_buf_free(&enc);
    return rc;
}

int bwc_txbuild_cost(const bwc_tx *tx, uint64_t *cost)
{
    return bwc_amount_add(cost, tx->fee, bwc_tx_spend(tx));
}
