# Expected probe results for the syscall rules of build-base (build, ci and container share
# them); sourced by those tests after lib-probe.sh.
expect getpid OK
expect openat OK
expect fork OK
expect clone3 ENOSYS
expect unshare-files OK
expect unshare-net baseline
expect mount EPERM
expect umount2 EPERM
expect unshare-user EPERM
expect clone-user EPERM
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
expect socket-inet OK
expect socket-unix OK
expect chown baseline
expect setuid OK
expect io_uring_setup ENOSYS
expect init_module EPERM
expect reboot EPERM
expect swapon EPERM
expect clock_settime EPERM
expect setns EPERM
expect chroot EPERM
expect userfaultfd EPERM
expect personality OK
expect syslog EPERM
expect memfd_create OK
expect pipe2 OK
expect mknod-fifo baseline
expect sethostname EPERM
compat_expect i386:getpid=OK i386:mount=EPERM i386:keyctl=EPERM i386:unshare-user=EPERM \
	i386:ioctl-tiocsti=EPERM i386:bpf=EPERM i386:ptrace=EPERM i386:socketcall=baseline \
	x32:getpid=baseline x32:keyctl=EPERM x32:mount=EPERM
