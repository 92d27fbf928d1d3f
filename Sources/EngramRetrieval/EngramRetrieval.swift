// EngramRetrieval: sparse, dense and α-entmax modern Hopfield retrieval over an in-memory
// Float32 pattern matrix. Pure computation: no I/O, no global state.
