"""contract.py: the field names the RPC contract gives each method's result, so that a test
can check a result has all of them and print (once) the fields an implementation adds."""

from .util import TestFailure

_BLOCK_HEADER = ["hash", "confirmations", "height", "version", "time", "mediantime",
                 "producer", "target", "nonce", "tx_root", "receipt_root", "chainwork"]

# method -> (required fields, optional fields)
FIELDS = {
    "getblockchaininfo": (["chain", "chain_id", "engine", "blocks", "headers", "bestblockhash",
                           "chainwork", "mediantime", "finalized_height",
                           "verificationprogress", "initialblockdownload"], []),
    "getblock": (_BLOCK_HEADER + ["size", "tx", "receipts"],
                 ["previousblockhash", "nextblockhash"]),
    "getblockheader": (_BLOCK_HEADER, ["previousblockhash", "nextblockhash"]),
    "getchaintips": (["height", "hash", "branchlen", "status"], []),
    "getaccount": (["address", "balance", "nonce", "bytes_served", "bytes_consumed"], []),
    "listtransactions": (["txid", "type", "category", "from", "fee", "nonce", "blockhash",
                          "height", "confirmations", "time"], ["to", "amount", "memo"]),
    "listsinceblock": (["txid", "type", "from", "fee", "nonce", "blockhash", "height",
                        "confirmations", "time"], ["to", "amount", "memo", "category"]),
    "gettransaction": (["txid", "hex", "type", "from", "nonce", "fee", "confirmations"],
                       ["blockhash", "height", "time", "to", "amount", "memo"]),
    "decoderawtransaction": (["txid", "type", "from", "nonce", "fee"],
                             ["to", "amount", "memo"]),
    "getmempoolinfo": (["size", "bytes", "receipts", "maxmempool", "minfee"], []),
    "getrawmempool": (["fee", "size", "time", "from", "nonce"], []),
    "getchannel": (["channel_id", "consumer", "relay", "deposit", "price", "expiry", "claimed",
                    "seq", "bytes", "digest", "opened", "closed", "state"], []),
    "getcontent": (["content_id", "publisher", "size", "chunk_size", "registered"],
                   ["name", "origin", "mime"]),
    "getrelay": (["address", "endpoint", "region", "price", "rate", "quota", "burst_quota",
                  "burst_hours", "announced"], []),
    "getpool": (["pool_id", "sponsor", "content_id", "amount", "balance", "price",
                 "per_consumer_cap", "expiry", "opened", "closed", "state"], ["ticket_key"]),
    "validateaddress": (["isvalid"], ["address", "pubkey", "error"]),
    "estimatefee": (["fee", "feerate"], []),
    "getnetworkinfo": (["version", "subversion", "protocolversion", "connections",
                        "relayfee"], []),
}

_noted = set()


def check_fields(obj, method):
    """obj (a result, or one element of a list result) has every field the contract names
    for method; fields beyond it are printed once per (method, field). Returns obj."""
    required, optional = FIELDS[method]
    if not isinstance(obj, dict):
        raise TestFailure("%s result is not an object: %r" % (method, obj))
    missing = [k for k in required if k not in obj]
    if missing:
        raise TestFailure("%s result lacks %s: %r" % (method, ", ".join(missing), obj))
    for k in obj:
        if k not in required and k not in optional and (method, k) not in _noted:
            _noted.add((method, k))
            print("note: %s adds the field %r" % (method, k), flush=True)
    return obj
