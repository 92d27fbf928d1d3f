// engramd: the Engram daemon. All behaviour lives in EngramServer.

import EngramServer
import Glibc

exit(Daemon.main(arguments: Array(CommandLine.arguments.dropFirst())))
