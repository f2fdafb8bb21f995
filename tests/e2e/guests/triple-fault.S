/*
 * A guest that triple-faults at once: ebb's boot IDT is empty, so the #UD
 * from ud2 escalates to #DF and then to a shutdown (KVM_EXIT_SHUTDOWN).
 * Linked at 16 MiB as an ELF "kernel" for ebb's vmlinux loader.
 */
	.text
	.globl _start
_start:
	ud2
	hlt
