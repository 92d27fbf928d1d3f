// OpenBLAS ships its CBLAS header under the multiarch include directory.
#include <cblas.h>
