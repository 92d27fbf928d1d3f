// EngramCLI: the `engram` command-line client: argument parsing, requests to engramd,
// human and JSON rendering, and errors rendered in one place.
