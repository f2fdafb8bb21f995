# shellcheck shell=bash
# ebb's stop message for a vCPU that sat halted, interrupts on, with a
# device vector (0x20..0xeb) pending in its local APIC, or in service there
# though no handler runs (vmm/arch/x86_64/cpu_state.c). Linux puts its IPIs
# and local timer at 0xec and above, so those are left out. One definition for run-all, which
# retries a failure that shows it, and 10-boot.sh, whose idle guest must not.
# shellcheck disable=SC2034 # read by the scripts that source this file
halted_device_vector_re='halted with interrupts on and vector 0x(2[0-9a-f]|[3-9a-d][0-9a-f]|e[0-9ab]) (pending|in service) in its local APIC'
# tools/lab/guest-irq-frames's line for an interrupt the hypervisor delivered
# while the guest had interrupts off (tools/lib/vm.sh runs it on a guest
# that stopped making progress).
irq_with_if_off_re='^guest-irq-frames: .* entered over .* with interrupts off'
# tools/lib/vm.sh's line for a CPU of L1 whose timer interrupt never came
# (overdue_cpu_timers, run on a wait that timed out or a stuck guest).
cpu_timer_overdue_re='^CPU [0-9]+: its next timer is [0-9.]+ s overdue: the interrupt for it never came'
