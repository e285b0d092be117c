/* objects_internal.h: reading one object from inside a larger one (the block decoder). */
#ifndef BWC_CONSENSUS_OBJECTS_INTERNAL_H
#define BWC_CONSENSUS_OBJECTS_INTERNAL_H

#include "consensus/cbor.h"
#include "consensus/header.h"
#include "consensus/receipt.h"
#include "consensus/tx.h"

/* Each reads one object at r from bytes bwc_cbor_check already accepted, applying every
 * rule of the object's own decoder (its byte limit included). Return 1, or 0 with res set
 * and the object zeroed. */
int bwc_header_read(bwc_cbor_reader *r, bwc_header *h, bwc_result *res);
int bwc_tx_read(bwc_cbor_reader *r, bwc_tx *tx, bwc_result *res);
int bwc_receipt_read(bwc_cbor_reader *r, bwc_receipt *rc, bwc_result *res);

/* The common shape of a top-level decode: byte limit, canonical check, one object, no rest. */
typedef int (*bwc_read_fn)(bwc_cbor_reader *r, void *obj, bwc_result *res);
int bwc_decode_whole(const unsigned char *p, size_t n, size_t max, const char *rej_oversize,
                     bwc_read_fn read, void *obj, size_t obj_size, bwc_result *res);

#endif
