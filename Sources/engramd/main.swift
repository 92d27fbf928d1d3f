// engramd: the Engram daemon. All behaviour lives in EngramServer.
