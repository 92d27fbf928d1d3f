// EngramStore: append-only memory banks in one LMDB environment. The only code that calls LMDB.
