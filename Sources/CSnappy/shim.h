// Google's snappy through its C interface (Debian/Ubuntu: libsnappy-dev to build,
// libsnappy1v5 to run). Loki's protobuf pushes are snappy block format, which this reads and writes.
#include <snappy-c.h>
