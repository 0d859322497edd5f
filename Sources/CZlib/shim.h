// zlib, to read the gzipped IDX files of Debian's dataset-fashion-mnist (zlib1g-dev).
#include <zlib.h>
