#!/bin/bash
# The strict profile: everything outside its allow-list fails with EPERM (sockets,
# personality, every namespace flag and terminal ioctl), and gcc, make, ninja, git and sqlite3
# still work on local files.
. "$(dirname "$0")/lib-probe.sh"
expect getpid OK
expect openat OK
expect fork OK
expect clone3 ENOSYS
expect unshare-files OK
expect unshare-net EPERM
expect unshare-user EPERM
expect clone-user EPERM
expect mount EPERM
expect umount2 EPERM
expect keyctl EPERM
expect add_key EPERM
expect bpf EPERM
expect ptrace EPERM
expect perf_event_open EPERM
expect ioctl-tiocsti EPERM
expect ioctl-tiocsti-hi EPERM
expect ioctl-tiocsti-sx EPERM
expect ioctl-tioclinux EPERM
expect ioctl-fionread baseline
expect socket-inet EPERM
expect socket-unix EPERM
expect chown baseline
expect setuid OK
expect io_uring_setup EPERM
expect init_module EPERM
expect reboot EPERM
expect swapon EPERM
expect clock_settime EPERM
expect setns EPERM
expect chroot EPERM
expect userfaultfd EPERM
expect personality EPERM
expect syslog EPERM
expect memfd_create OK
expect pipe2 OK
expect mknod-fifo baseline
expect sethostname EPERM
compat_expect i386:getpid=OK i386:mount=EPERM i386:keyctl=EPERM i386:unshare-user=EPERM \
	i386:ioctl-tiocsti=EPERM i386:bpf=EPERM i386:ptrace=EPERM i386:socketcall=EPERM \
	x32:getpid=baseline x32:keyctl=EPERM x32:mount=EPERM
check_policy strict
tools_work strict
