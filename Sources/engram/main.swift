// engram: the Engram command-line client. All behaviour lives in EngramCLI.

import EngramCLI

EngramCLI.main()
