/* ibvprobe: long-term pin of a DAX mapping the way RDMA does it.
 * ibv_reg_mr() -> uverbs -> ib_umem_get() -> pin_user_pages_fast(FOLL_LONGTERM).
 *
 *   ibvprobe PATH MAPLEN      (PATH = /dev/daxX.Y or a file on a -o dax mount)
 *
 * Prints one JSON object: device name, a control registration on anonymous memory
 * (proves the rxe device works), and the registration on the DAX mapping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <infiniband/verbs.h>

static const char *ename(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL"; case EOPNOTSUPP: return "EOPNOTSUPP";
	case EFAULT: return "EFAULT"; case ENOMEM: return "ENOMEM";
	case EPERM: return "EPERM"; case ENODEV: return "ENODEV";
	default: { static char b[32]; snprintf(b, sizeof b, "E%d", e); return b; }
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) { fprintf(stderr, "usage\n"); return 2; }
	size_t len = strtoull(argv[2], 0, 0);
	size_t reglen = len < (2u << 20) ? len : (2u << 20);
	int n = 0;
	struct ibv_device **l = ibv_get_device_list(&n);
	if (!l || n == 0) { printf("{\"longterm_pin\":\"skip:no ibv device (%s)\"}\n", ename(errno)); return 1; }
	struct ibv_context *ctx = ibv_open_device(l[0]);
	if (!ctx) { printf("{\"longterm_pin\":\"skip:ibv_open_device %s\"}\n", ename(errno)); return 1; }
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	if (!pd) { printf("{\"longterm_pin\":\"skip:ibv_alloc_pd %s\"}\n", ename(errno)); return 1; }
	int acc = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	printf("{\"ibv_device\":\"%s\",", ibv_get_device_name(l[0]));
	void *a = mmap(NULL, reglen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(a, 1, reglen);
	struct ibv_mr *mr = ibv_reg_mr(pd, a, reglen, acc);
	if (!mr) { printf("\"control_anon\":\"err:%s\",\"longterm_pin\":\"skip:control registration failed\"}\n", ename(errno)); return 1; }
	printf("\"control_anon\":\"ok\",");
	ibv_dereg_mr(mr);
	int fd = open(argv[1], O_RDWR);
	if (fd < 0) { printf("\"longterm_pin\":\"skip:open %s\"}\n", ename(errno)); return 1; }
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) { printf("\"longterm_pin\":\"skip:mmap %s\"}\n", ename(errno)); return 1; }
	for (size_t i = 0; i < reglen; i += 4096) p[i] = 2;
	errno = 0;
	mr = ibv_reg_mr(pd, p, reglen, acc);
	if (mr) { printf("\"longterm_pin\":\"ok\"}\n"); ibv_dereg_mr(mr); }
	else printf("\"longterm_pin\":\"err:%s\"}\n", ename(errno));
	return 0;
}
