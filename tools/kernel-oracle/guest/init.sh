#!/bin/sh
# /init of the kernel-oracle initramfs.  Runs the generated cases (/cases.sh) and powers off.
# Test output goes to the second serial port (/dev/ttyS1), kernel messages stay on ttyS0.
# Record format (parsed by tools/kernel-oracle/results.py):
#   @@KEY value                  one-line field of the current case (or of the boot if before any case)
#   @@BEGIN name / ... / @@END name   multi-line block
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /mnt /run && mount -t tmpfs tmpfs /tmp
OUT=/dev/ttyS1
stty -F $OUT raw -echo 115200 2>/dev/null
exec 3>$OUT
emit() { echo "@@$*" >&3; }
block() { # name file
	echo "@@BEGIN $1" >&3; cat "$2" >&3; echo "" >&3; echo "@@END $1" >&3; }
T() { timeout "${TMO:-600}" "$@"; }

# free pages of every zone plus the pages sitting on the per-CPU lists
freepages() {
	echo 1 > /proc/sys/vm/stat_refresh 2>/dev/null
	awk '/^ *pages free/ {s+=$3} /^ *count:/ {s+=$2} END {print s}' /proc/zoneinfo
}
settle() {
	sync; echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory 2>/dev/null
	sleep 1; sync; echo 3 > /proc/sys/vm/drop_caches
}
sysfs_dump() { # dir -> @@SYSFS dir/attr value
	d=$1
	[ -d "$d" ] || return
	for a in mode size resource align holder nstype sector_size supported_alignments uuid force_raw namespace; do
		[ -r "$d/$a" ] && emit "SYSFS $d/$a $(cat $d/$a 2>/dev/null | tr '\n' ' ')"
	done
}

# the boot's parameters (region kinds, extra modules) come first in the generated /cases.sh
REGIONS=nfit EXTRA_MODULES=
[ -r /cases.env ] && . /cases.env
emit "BOOT_START $(cat /proc/uptime | cut -d' ' -f1)"
emit "CMDLINE $(cat /proc/cmdline)"
emit "UNAME $(uname -r)"
for m in nfit libnvdimm nd_pmem nd_btt dax_pmem device_dax kmem loop ext4 crc32c_generic crc32_generic e1000 rdma_rxe ib_uverbs $EXTRA_MODULES; do
	modprobe $m 2>/tmp/mp || { emit "MODPROBE_FAIL $m $(cat /tmp/mp | tr '\n' ' ')"; }
done
# a block device for O_DIRECT reads *into* a DAX mapping (short-term GUP probe)
dd if=/dev/zero of=/tmp/src.img bs=1M count=4 2>/dev/null
losetup /dev/loop0 /tmp/src.img 2>/dev/null || emit "LOOP_FAIL"
# soft-RoCE on the QEMU NIC for the FOLL_LONGTERM (ibv_reg_mr) probe
ip link set lo up
ip link set eth0 up 2>/dev/null
if rdma link add rxe0 type rxe netdev eth0 2>/tmp/rdma; then emit "RXE ok"; else emit "RXE fail $(cat /tmp/rdma | tr '\n' ' ')"; fi
{ rdma link show; ls /sys/class/net /sys/class/infiniband /dev/infiniband; lsmod; dmesg | grep -iE 'rxe|rdma|e1000|ib_'; } >/tmp/rl 2>&1; block rdma_diag /tmp/rl

# the region of one kind: nfit (ACPI.NFIT), e820 (memmap=nn!ss, nd_e820) or virtio (virtio-pmem);
# the provider is an attribute of the region's bus (drivers/nvdimm/bus.c provider_show)
region_by() {
	for r in /sys/bus/nd/devices/region*; do
		[ -e "$r" ] || continue
		p=$(cat $r/../provider 2>/dev/null)
		case "$1:$p" in
		nfit:ACPI.NFIT|e820:e820|virtio:virtio*) basename $r; return ;;
		esac
	done
}
# wait for every region this boot has
i=0
while [ $i -lt 60 ]; do
	miss=0; for k in $REGIONS; do [ -n "$(region_by $k)" ] || miss=1; done
	[ $miss = 0 ] && break; sleep 1; i=$((i+1))
done
for k in $REGIONS; do emit "REGION $k $(region_by $k) $(cat /sys/bus/nd/devices/$(region_by $k)/../provider 2>/dev/null)"; done
T ndctl disable-region all >/dev/null 2>&1
T ndctl init-labels -f all >/tmp/o 2>&1; emit "INIT_LABELS $?"
T ndctl enable-region all >/dev/null 2>&1
T ndctl destroy-namespace -f all >/dev/null 2>&1
T ndctl list -R -C -v >/tmp/o 2>&1; block regions /tmp/o
T ndctl list -N -v >/tmp/o 2>&1; block boot_namespaces /tmp/o
for r in /sys/bus/nd/devices/region*; do sysfs_dump $r; done
settle
emit "FREE_BOOT $(freepages)"
emit "MEMTOTAL $(awk '/MemTotal/ {print $2}' /proc/meminfo)"
emit "CASES_START $(cut -d' ' -f1 /proc/uptime)"

probe_devdax() { # ns-json-file maplen
	chr=$(sed -n 's/.*"chardev":"\([^"]*\)".*/\1/p' /tmp/list | head -1)
	[ -n "$chr" ] || { emit "PROBE_NOTE no chardev"; return; }
	T /usr/bin/daxprobe devdax /dev/$chr $1 /dev/loop0 >/tmp/p 2>&1; block probe /tmp/p
	T /usr/bin/ibvprobe /dev/$chr $1 >/tmp/p 2>&1; block ibv /tmp/p
}
# /mnt/f of $1 bytes whose data is 2 MiB-aligned on the device (a PMD fault needs it; ext4's
# stripe hint usually gives it, 6.12's allocator not always): when FIEMAP shows the extent off by
# m, a pad file of 2 MiB - m shifts the next allocation; a few tries, the last offset recorded
aligned_file() {
	i=0; m=-1
	while [ $i -lt 6 ]; do
		rm -f /mnt/f
		fallocate -l $1 /mnt/f 2>/dev/null || dd if=/dev/zero of=/mnt/f bs=1M count=$(( $1 / 1048576 )) 2>/dev/null
		m=$(/usr/bin/daxprobe fiemap /mnt/f)
		[ "$m" = 0 ] && break
		[ "$m" -gt 0 ] 2>/dev/null || break
		fallocate -l $(( 2097152 - m )) /mnt/pad$i 2>/dev/null || break
		i=$((i+1))
	done
	emit "EXTENT_TRIES $i $m"
}
probe_blockfs() { # blockdev maplen
	bd=$1
	# stripe = 2 MiB so that mballoc hands out 2 MiB-aligned extents (PMD faults need them)
	T mkfs.ext4 -q -F -b 4096 -E stride=512,stripe_width=512 /dev/$bd >/tmp/p 2>&1; emit "MKFS $?"
	if mount -t ext4 -o dax /dev/$bd /mnt 2>/tmp/p; then
		emit "DAX_MOUNT ok"
		aligned_file $2
		T /usr/bin/daxprobe file /mnt/f $2 /dev/loop0 >/tmp/p 2>&1; block probe /tmp/p
		T /usr/bin/ibvprobe /mnt/f $2 >/tmp/p 2>&1; block ibv /tmp/p
		umount /mnt
	else
		emit "DAX_MOUNT fail $(tr '\n' ' ' </tmp/p)"
		dmesg | tail -3 >/tmp/d; block dax_mount_dmesg /tmp/d
		# the same probes on a plain (page-cache) mount: MAP_SYNC must be refused there
		if mount -t ext4 /dev/$bd /mnt 2>/tmp/p; then
			dd if=/dev/zero of=/mnt/f bs=1M count=$(( $2 / 1048576 )) 2>/dev/null
			T /usr/bin/daxprobe file /mnt/f $2 /dev/loop0 >/tmp/p 2>&1; block probe /tmp/p
			umount /mnt
		fi
	fi
}

# devdax -> System RAM through dax/kmem, like `daxctl reconfigure-device --mode=system-ram`
kmem_probe() {
	chr=$(sed -n 's/.*"chardev":"\([^"]*\)".*/\1/p' /tmp/list | head -1)
	[ -n "$chr" ] || { emit "KMEM_NOTE no chardev"; return; }
	ls /sys/devices/system/memory | grep '^memory' | sort > /tmp/mb0
	emit "KMEM_FREE_BOUND $(freepages)"
	echo $chr > /sys/bus/dax/drivers/device_dax/unbind 2>/tmp/k; emit "KMEM_UNBIND $? $(tr '\n' ' ' </tmp/k)"
	# baseline after device_dax let go of its ZONE_DEVICE memmap
	settle; emit "KMEM_MT0 $(awk '/MemTotal/ {print $2}' /proc/meminfo)"; emit "KMEM_FREE0 $(freepages)"
	echo $chr > /sys/bus/dax/drivers/kmem/new_id 2>/tmp/k; emit "KMEM_NEWID $? $(tr '\n' ' ' </tmp/k)"
	[ -e /sys/bus/dax/drivers/kmem/$chr ] || { echo $chr > /sys/bus/dax/drivers/kmem/bind 2>/tmp/k; emit "KMEM_BIND $? $(tr '\n' ' ' </tmp/k)"; }
	emit "KMEM_DRIVER $(basename $(readlink /sys/bus/dax/devices/$chr/driver) 2>/dev/null)"
	ls /sys/devices/system/memory | grep '^memory' | sort > /tmp/mb1
	new=$(diff /tmp/mb0 /tmp/mb1 | sed -n 's/^+\(memory[0-9]*\)$/\1/p')
	n=0; on=0
	for b in $new; do
		n=$((n+1))
		# a kernel that onlines hot-added memory itself (6.12: auto_online_blocks) has done it
		[ "$(cat /sys/devices/system/memory/$b/state)" = online ] || echo online_movable > /sys/devices/system/memory/$b/state 2>/dev/null
		[ "$(cat /sys/devices/system/memory/$b/state)" = online ] && on=$((on+1))
		emit "KMEM_BLOCK $b $(cat /sys/devices/system/memory/$b/state) $(cat /sys/devices/system/memory/$b/valid_zones 2>/dev/null | tr ' ' ,)"
	done
	emit "KMEM_BLOCKS $n $on $(cat /sys/devices/system/memory/block_size_bytes)"
	for b in $new; do emit "SYSFS /sys/devices/system/memory/$b/phys_index $(cat /sys/devices/system/memory/$b/phys_index)"; done
	settle; emit "KMEM_MT1 $(awk '/MemTotal/ {print $2}' /proc/meminfo)"; emit "KMEM_FREE1 $(freepages)"
	cat /proc/iomem | grep -iE 'dax|System RAM|persistent|nvdimm' > /tmp/k; block iomem /tmp/k
	# undo, so the namespace can be destroyed
	for b in $new; do echo offline > /sys/devices/system/memory/$b/state 2>/dev/null; done
	echo $chr > /sys/bus/dax/drivers/kmem/unbind 2>/tmp/k; emit "KMEM_UNDO $? $(tr '\n' ' ' </tmp/k)"
	echo $chr > /sys/bus/dax/drivers/kmem/remove_id 2>/dev/null
}

# devdax -> System RAM through `daxctl reconfigure-device --mode=system-ram` (dax/kmem); with
# $1 = 1 the device asks for its memmap on the hot-added memory first (dax bus attribute
# memmap_on_memory, 6.8+: drivers/dax/bus.c; honoured only with memory_hotplug.memmap_on_memory=1)
zone_pages() { # present pages per zone: "Normal=N Movable=M ..."
	awk '/^Node/ {z=$4} /^ +present/ {printf "%s=%s ", z, $2}' /proc/zoneinfo
}
daxctl_probe() {
	chr=$(sed -n 's/.*"chardev":"\([^"]*\)".*/\1/p' /tmp/list | head -1)
	[ -n "$chr" ] || { emit "KMEM_NOTE no chardev"; return; }
	ls /sys/devices/system/memory | grep '^memory' | sort > /tmp/mb0
	emit "KMEM_FREE_BOUND $(freepages)"
	echo $chr > /sys/bus/dax/drivers/device_dax/unbind 2>/tmp/k; emit "KMEM_UNBIND $? $(tr '\n' ' ' </tmp/k)"
	if [ "$1" = 1 ]; then
		echo 1 > /sys/bus/dax/devices/$chr/memmap_on_memory 2>/tmp/k; emit "KMEM_MOM_SET $? $(tr '\n' ' ' </tmp/k)"
	fi
	emit "KMEM_MOM $(cat /sys/bus/dax/devices/$chr/memmap_on_memory 2>/dev/null || echo absent)"
	emit "KMEM_MOM_PARAM $(cat /sys/module/memory_hotplug/parameters/memmap_on_memory 2>/dev/null || echo absent)"
	emit "KMEM_AUTO_ONLINE $(cat /sys/devices/system/memory/auto_online_blocks 2>/dev/null)"
	settle; emit "KMEM_MT0 $(awk '/MemTotal/ {print $2}' /proc/meminfo)"; emit "KMEM_FREE0 $(freepages)"
	emit "KMEM_ZONES0 $(zone_pages)"
	T daxctl reconfigure-device --mode=system-ram $chr >/tmp/k 2>/tmp/k2; rc=$?
	emit "KMEM_DAXCTL $rc"; block daxctl_out /tmp/k; block daxctl_err /tmp/k2
	if [ $rc != 0 ] && grep -q 'auto-online' /tmp/k2; then
		# the kernel onlines hot-added memory itself (MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO) and
		# daxctl refuses to race it: let the kernel online the blocks, into the zone it picks
		T daxctl reconfigure-device --mode=system-ram --no-online $chr >/tmp/k 2>/tmp/k2; rc=$?
		emit "KMEM_DAXCTL_NO_ONLINE $rc"; block daxctl_out2 /tmp/k; block daxctl_err2 /tmp/k2
	fi
	if [ $rc != 0 ] && grep -q 'auto-online' /tmp/k2; then
		# daxctl 76.1 aborts either way: bind dax/kmem through sysfs as daxctl would and let the
		# kernel online the blocks by its own policy (what Debian's 6.12 does to any hot-add)
		echo $chr > /sys/bus/dax/drivers/kmem/new_id 2>/tmp/k; emit "KMEM_NEWID $? $(tr '\n' ' ' </tmp/k)"
		[ -e /sys/bus/dax/drivers/kmem/$chr ] || { echo $chr > /sys/bus/dax/drivers/kmem/bind 2>/tmp/k; emit "KMEM_BIND $? $(tr '\n' ' ' </tmp/k)"; }
		emit "KMEM_VIA sysfs-after-daxctl"
	fi
	emit "KMEM_DRIVER $(basename $(readlink /sys/bus/dax/devices/$chr/driver) 2>/dev/null)"
	ls /sys/devices/system/memory | grep '^memory' | sort > /tmp/mb1
	new=$(diff /tmp/mb0 /tmp/mb1 | sed -n 's/^+\(memory[0-9]*\)$/\1/p')
	n=0; on=0
	for b in $new; do
		n=$((n+1)); st=$(cat /sys/devices/system/memory/$b/state)
		[ "$st" = online ] && on=$((on+1))
		emit "KMEM_BLOCK $b $st $(cat /sys/devices/system/memory/$b/valid_zones 2>/dev/null | tr ' ' ,)"
	done
	emit "KMEM_BLOCKS $n $on $(cat /sys/devices/system/memory/block_size_bytes)"
	settle; emit "KMEM_MT1 $(awk '/MemTotal/ {print $2}' /proc/meminfo)"; emit "KMEM_FREE1 $(freepages)"
	emit "KMEM_ZONES1 $(zone_pages)"
	cat /proc/iomem | grep -iE 'dax|System RAM|persistent|nvdimm|reserved' > /tmp/k; block iomem /tmp/k
	# undo, so the namespace can be destroyed
	T daxctl reconfigure-device --mode=devdax -f $chr >/tmp/k 2>&1; rc=$?
	if [ $rc != 0 ]; then
		for b in $new; do echo offline > /sys/devices/system/memory/$b/state 2>/dev/null; done
		echo $chr > /sys/bus/dax/drivers/kmem/unbind 2>/dev/null; rc=$?
	fi
	emit "KMEM_UNDO $rc $(tail -1 /tmp/k | tr '\n' ' ')"
}

# label-less regions (e820, virtio) have one namespace over the whole region, reconfigured with
# `ndctl create-namespace -e NS -f`; "destroying" it means back to raw, then disabled
labelless_reset() { # region
	lns=$(cd /sys/bus/nd/devices/$1 && ls -d namespace*.0 2>/dev/null | head -1)
	[ -n "$lns" ] || return
	T ndctl create-namespace -e $lns -f -m raw >/dev/null 2>&1
	T ndctl disable-namespace $lns >/dev/null 2>&1
}

run_case() { # id region-kind probe maplen -- ndctl create-namespace args (@NS: the region's namespace)
	id=$1; kind=$2; probe=$3; maplen=$4; shift 5
	region=$(region_by $kind)
	emit "CASE $id"
	emit "T0 $(cut -d' ' -f1 /proc/uptime)"
	emit "REGION $kind $region"
	labelless=0; [ "$kind" = nfit ] || labelless=1
	if [ $labelless = 1 ]; then
		labelless_reset $region
		ns0=$(cd /sys/bus/nd/devices/$region && ls -d namespace*.0 2>/dev/null | head -1)
		set -- $(for a in "$@"; do if [ "$a" = @NS ]; then printf "%s\n" $ns0; else printf "%s\n" "$a"; fi; done)
	else
		T ndctl destroy-namespace -f -r $region all >/dev/null 2>&1
	fi
	settle; f0=$(freepages)
	emit "CMD ndctl create-namespace -r $region $*"
	T ndctl create-namespace -r $region "$@" >/tmp/out 2>/tmp/err; rc=$?
	settle; f1=$(freepages)
	emit "RC $rc"
	emit "FREE_BEFORE $f0"
	emit "FREE_AFTER $f1"
	block stdout /tmp/out; block stderr /tmp/err
	dmesg -c >/tmp/d 2>/dev/null; grep -iE 'nd_|pfn|dax|btt|namespace|align|pmem|memmap|BUG|WARN' /tmp/d > /tmp/d2; block dmesg /tmp/d2
	T ndctl list -N -v -r $region >/tmp/list 2>&1; block list /tmp/list
	ns=$(sed -n 's/.*"dev":"\(namespace[^"]*\)".*/\1/p' /tmp/list | head -1)
	if [ -n "$ns" ]; then
		D=/sys/bus/nd/devices
		sysfs_dump $D/$ns
		h=$(cat $D/$ns/holder 2>/dev/null)
		[ -n "$h" ] && sysfs_dump $D/$h
		for b in /sys/block/pmem*; do [ -e "$b" ] && emit "SYSFS $b/size $(cat $b/size)" && emit "SYSFS $b/queue/dax $(cat $b/queue/dax 2>/dev/null)"; done
		for x in /sys/bus/dax/devices/dax*; do [ -e "$x" ] && for a in size align target_node memmap_on_memory; do [ -e $x/$a ] && emit "SYSFS $x/$a $(cat $x/$a 2>/dev/null)"; done; done
		grep -E 'MemTotal|MemFree|DirectMap' /proc/meminfo > /tmp/mi; block meminfo /tmp/mi
		if [ "$rc" = 0 ] && [ "$probe" = k ]; then kmem_probe; fi
		if [ "$rc" = 0 ] && [ "${probe#d}" != "$probe" ]; then daxctl_probe ${probe#d}; fi
		if [ "$rc" = 0 ] && [ "$probe" = 1 ]; then
			mode=$(sed -n 's/.*"mode":"\([^"]*\)".*/\1/p' /tmp/list | head -1)
			bd=$(sed -n 's/.*"blockdev":"\([^"]*\)".*/\1/p' /tmp/list | head -1)
			case "$mode" in
			devdax) probe_devdax $maplen ;;
			*) [ -n "$bd" ] && probe_blockfs $bd $maplen ;;
			esac
		fi
	fi
	if [ $labelless = 1 ]; then
		labelless_reset $region
	else
		T ndctl destroy-namespace -f -r $region all >/dev/null 2>&1
	fi
	settle; f2=$(freepages)
	emit "FREE_DESTROYED $f2"
	emit "T1 $(cut -d' ' -f1 /proc/uptime)"
	emit "ENDCASE $id"
}

. /cases.sh

emit "CASES_END $(cut -d' ' -f1 /proc/uptime)"
emit "DONE"
sync
poweroff -f
