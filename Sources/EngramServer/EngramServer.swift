// EngramServer: the daemon: Unix-socket serving, peer roles, systemd integration, logging,
// configuration, and the dispatch of decoded commands to the store and the retrieval core.
