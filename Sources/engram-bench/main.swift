// engram-bench: prints the benchmark tables of `make bench`. Each layer has its own file here.
