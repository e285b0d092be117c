/* p2pmsg.h: the P2P message set (doc/p2p.md): framing, encoding and strict decoding.
 *
 * A frame is magic (u32be, from the chainspec), the payload length (u32be) and the payload:
 * one canonical CBOR array [type, fields...]. Transactions, receipts, blocks and headers
 * travel as byte strings holding their own canonical encoding, checked by their own decoders
 * in consensus/. Every count is bounded before anything is allocated. */
#ifndef BWC_NODE_P2PMSG_H
#define BWC_NODE_P2PMSG_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/buf.h"
#include "consensus/header.h"
#include "consensus/result.h"
#include "consensus/types.h"

#define BWC_P2P_VERSION 1
#define BWC_FRAME_HEADER 8
#define BWC_MAX_INV 1000
#define BWC_MAX_HEADERS 2000
#define BWC_MAX_LOCATOR 64
#define BWC_MAX_ADDR 1000
#define BWC_USER_AGENT_MAX 256
#define BWC_HOST_MAX 64 /* a numeric IPv4 or IPv6 address */

typedef enum {
    BWC_MSG_VERSION = 0,
    BWC_MSG_VERACK = 1,
    BWC_MSG_PING = 2,
    BWC_MSG_PONG = 3,
    BWC_MSG_INV = 4,
    BWC_MSG_GETDATA = 5,
    BWC_MSG_NOTFOUND = 6,
    BWC_MSG_TX = 7,
    BWC_MSG_RECEIPT = 8,
    BWC_MSG_BLOCK = 9,
    BWC_MSG_GETHEADERS = 10,
    BWC_MSG_HEADERS = 11,
    BWC_MSG_GETADDR = 12,
    BWC_MSG_ADDR = 13,
    BWC_MSG_COUNT
} bwc_msg_type;

typedef enum {
    BWC_INV_TX = 1,
    BWC_INV_RECEIPT = 2,
    BWC_INV_BLOCK = 3,
} bwc_inv_kind;

typedef struct {
    uint8_t kind;
    bwc_hash id;
} bwc_inv;

typedef struct {
    char host[BWC_HOST_MAX + 1]; /* numeric, IPv6 without brackets */
    uint16_t port;
    uint64_t time; /* unix seconds the address was last seen working */
} bwc_netaddr;

typedef struct {
    bwc_msg_type type;
    /* version */
    uint64_t version;
    bwc_hash chain_id;
    uint64_t height;
    bwc_hash best;
    char agent[BWC_USER_AGENT_MAX + 1];
    uint16_t port; /* the sender's listening port, 0 when not listening */
    uint64_t nonce; /* version: self-connection check; ping/pong: echo */
    uint64_t time;
    /* inv, getdata, notfound */
    bwc_inv *inv;
    size_t n_inv;
    /* tx, receipt, block: the object's encoding, pointing into the decoded payload */
    const unsigned char *obj;
    size_t obj_len;
    /* getheaders: locator hashes, newest first, and a stop hash (0^32: as many as allowed) */
    bwc_hash *locator;
    size_t n_locator;
    bwc_hash stop;
    /* headers */
    bwc_header *headers;
    size_t n_headers;
    /* addr */
    bwc_netaddr *addrs;
    size_t n_addrs;
} bwc_msg;

/* Frees the arrays of a decoded or built message and zeroes it. */
void bwc_msg_free(bwc_msg *m);

/* Appends the whole frame of m (header and payload) for the network magic. Returns 1, or 0
 * when out of memory. */
int bwc_msg_encode(const bwc_msg *m, uint32_t magic, bwc_buf *out);

/* Reads a frame header: checks the magic and the payload length against max_payload before
 * any of the payload is read. Returns 1 with *len set, or 0 with res set (bad-magic,
 * oversize-message). */
int bwc_frame_header(const unsigned char hdr[BWC_FRAME_HEADER], uint32_t magic,
                     size_t max_payload, size_t *len, bwc_result *res);

/* Decodes a payload of exactly n bytes into m (which refers into p for tx/receipt/block; keep
 * p alive while using m). Returns 1, or 0 with res set (MALFORMED) and m zeroed. */
int bwc_msg_decode(bwc_msg *m, const unsigned char *p, size_t n, bwc_result *res);

const char *bwc_msg_name(bwc_msg_type type);

#endif
