/* The largest READ a mount asks its daemon for (FUSE max_read), shared by antares-overlayd's
 * default and antares-sandbox's mount of it. libfuse 3 replies to a READ by splicing the
 * data through a pipe only while data, header and a few pages of slack fit the pipe, and an
 * unprivileged pipe grows to 1 MiB at most (/proc/sys/fs/pipe-max-size): a 1 MiB READ, the
 * kernel's default limit, misses by a few pages, and libfuse then allocates a buffer per
 * READ, reads into it and copies it out. dd iflag=direct bs=1M of 1 GiB took 4.3-4.6 s that
 * way; capped at 512 KiB (two READs per 1 MiB) it took 0.30 s (doc/performance.md). */
#pragma once

#define ANTARES_MAX_READ (512u << 10)
