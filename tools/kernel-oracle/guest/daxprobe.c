/* daxprobe: feature probes on a DAX mapping, run inside the oracle guest.
 * Built static with the host gcc.  Prints one JSON object on stdout.
 *
 *   daxprobe devdax /dev/daxX.Y MAPLEN ODIRECT_SRC
 *   daxprobe file   /mnt/file   MAPLEN ODIRECT_SRC
 *
 * Verdict values: "ok", or "err:<errno name>", or "skip:<why>".
 *   dax_attr          (file only) statx STATX_ATTR_DAX on the file: "yes"/"no"
 *   mmap              mmap(MAP_SHARED) and touch every 4K page
 *   map_sync          mmap(MAP_SHARED_VALIDATE|MAP_SYNC)
 *   gup_dax_mapping   O_DIRECT read() from ODIRECT_SRC *into* the DAX mapping
 *                     (short-term get_user_pages on devmap pages)
 *   o_direct_dax_file (file only) open(O_DIRECT) + read() *of* the DAX file
 *   fault_size        pte | pmd | pud: the page-table level the DAX mapping was faulted at,
 *                     from the VmPTE growth while touching it (vmpte_delta_kb)
 *   extent_mod_2m     (file only) the file's first extent: (physical - logical) modulo 2 MiB,
 *                     from FIEMAP; PMD faults need 0 (fs/dax.c maps a PMD only where the
 *                     file offset and the device offset are both 2 MiB-aligned)
 *
 *   daxprobe fiemap FILE   prints extent_mod_2m alone (-1 if FIEMAP fails)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fiemap.h>
#include <linux/fs.h>

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

static const char *ename(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL"; case EOPNOTSUPP: return "EOPNOTSUPP";
	case EFAULT: return "EFAULT"; case ENOMEM: return "ENOMEM";
	case ENXIO: return "ENXIO"; case ENODEV: return "ENODEV";
	case EPERM: return "EPERM"; case EACCES: return "EACCES";
	case EIO: return "EIO"; case ENOENT: return "ENOENT";
	case EBUSY: return "EBUSY"; case EAGAIN: return "EAGAIN";
	default: { static char b[32]; snprintf(b, sizeof b, "E%d", e); return b; }
	}
}
static long vmpte_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	if (!f) return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmPTE:", 6)) v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static long long extent_mod_2m(int fd)
{
	char buf[sizeof(struct fiemap) + sizeof(struct fiemap_extent)];
	struct fiemap *fm = (struct fiemap *)buf;
	memset(buf, 0, sizeof buf);
	fm->fm_start = 0;
	fm->fm_length = ~0ULL;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = 1;
	if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0 || fm->fm_mapped_extents < 1) return -1;
	return (long long)((fm->fm_extents[0].fe_physical - fm->fm_extents[0].fe_logical) % (2ull << 20));
}

static void verdict(const char *k, int ok, int e, int last)
{
	if (ok) printf("\"%s\":\"ok\"%s", k, last ? "" : ",");
	else printf("\"%s\":\"err:%s\"%s", k, ename(e), last ? "" : ",");
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "fiemap")) {
		int f = open(argv[2], O_RDONLY);
		printf("%lld\n", f < 0 ? -1LL : extent_mod_2m(f));
		return 0;
	}
	if (argc != 5) { fprintf(stderr, "usage\n"); return 2; }
	int isfile = !strcmp(argv[1], "file");
	const char *path = argv[2];
	size_t len = strtoull(argv[3], 0, 0);
	const char *src = argv[4];
	int fd = open(path, O_RDWR);
	printf("{\"target\":\"%s\",", path);
	if (fd < 0) { verdict("open", 0, errno, 1); printf("}\n"); return 1; }
	if (isfile) {
		struct statx sx;
		if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0)
			printf("\"dax_attr\":\"%s\",", (sx.stx_attributes & STATX_ATTR_DAX) ? "yes" : "no");
		else printf("\"dax_attr\":\"err:%s\",", ename(errno));
		printf("\"extent_mod_2m\":%lld,", extent_mod_2m(fd));
	}
	/* plain shared mapping, placed so that its page-table cost tells the fault size:
	 * reserve anonymous space, touch one page at its start (so the upper-level tables exist),
	 * then map the DAX object with MAP_FIXED at an aligned address further in, where no table
	 * below the PUD level exists yet.  Touching every 4K page then costs, in VmPTE
	 * (mm_pgtables_bytes): PTE faults: one 4K table per 2 MiB; PMD faults: at most one PMD
	 * table; PUD faults: nothing. */
	size_t big = len >= (1ul << 30) ? (1ul << 30) : (2ul << 20);
	size_t reslen = len + big + (4ul << 20);
	char *res = mmap(NULL, reslen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *want = NULL;
	if (res != MAP_FAILED) {
		res[0] = 1;
		want = (char *)((((unsigned long)res + (2ul << 20) + big - 1) / big) * big);
	}
	long pte0 = vmpte_kb();
	char *p = mmap(want, len, PROT_READ | PROT_WRITE, MAP_SHARED | (want ? MAP_FIXED : 0), fd, 0);
	int ok = p != MAP_FAILED, e = errno;
	if (ok) {
		for (size_t i = 0; i < len; i += 4096) p[i] = (char)i;
		ok = 1;
	}
	verdict("mmap", ok, e, 0);
	if (ok && want) {
		long d = vmpte_kb() - pte0, n2m = len >> 21;
		const char *fs = "unknown";
		if (n2m >= 4 && d >= 4 * n2m) fs = "pte";
		else if (len >= (1ul << 30) && d <= 0) fs = "pud";
		else if (n2m >= 4 && d <= 8) fs = "pmd";
		printf("\"vmpte_delta_kb\":%ld,\"fault_size\":\"%s\",", d, fs);
	}
	/* MAP_SYNC */
	char *q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	verdict("map_sync", q != MAP_FAILED, errno, 0);
	if (q != MAP_FAILED) { q[0] = 1; munmap(q, len); }
	/* short-term GUP: O_DIRECT read from a block device into the DAX mapping */
	if (ok) {
		int sfd = open(src, O_RDONLY | O_DIRECT);
		if (sfd < 0) printf("\"gup_dax_mapping\":\"skip:open %s %s\",", src, ename(errno));
		else {
			size_t n = len < (1 << 20) ? len : (1 << 20);
			ssize_t r = read(sfd, p, n);
			verdict("gup_dax_mapping", r == (ssize_t)n, r < 0 ? errno : EIO, 0);
			close(sfd);
		}
	} else printf("\"gup_dax_mapping\":\"skip:no mapping\",");
	/* O_DIRECT of the DAX file itself */
	if (isfile) {
		int dfd = open(path, O_RDONLY | O_DIRECT);
		void *buf = NULL;
		if (dfd < 0 || posix_memalign(&buf, 4096, 65536)) verdict("o_direct_dax_file", 0, errno, 0);
		else { ssize_t r = read(dfd, buf, 65536); verdict("o_direct_dax_file", r == 65536, r < 0 ? errno : EIO, 0); close(dfd); }
	}
	printf("\"len\":%zu}\n", len);
	return 0;
}
