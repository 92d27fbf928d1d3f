// EngramWire: the wire codec. Inline and RESP2 request framing, RESP2 replies, vector
// encodings, the command grammar and its stable error codes. No sockets.
