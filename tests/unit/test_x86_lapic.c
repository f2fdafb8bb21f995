// SPDX-License-Identifier: GPL-2.0
/* Which local-APIC vector a halted vCPU with interrupts on must have taken, or ended. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>

#include "vmm/arch/x86_64/cpu_state.h"

#define TPR 0x80
#define ISR 0x100
#define IRR 0x200

static void set_vector(struct kvm_lapic_state *lapic, unsigned int reg, unsigned int vector)
{
	uint32_t bits;
	unsigned int at = reg + 0x10 * (vector / 32);
	memcpy(&bits, &lapic->regs[at], sizeof(bits));
	bits |= 1u << (vector % 32);
	memcpy(&lapic->regs[at], &bits, sizeof(bits));
}

static void set_tpr(struct kvm_lapic_state *lapic, uint32_t tpr)
{
	memcpy(&lapic->regs[TPR], &tpr, sizeof(tpr));
}

static void test_nothing_pending(void **state)
{
	(void)state;
	struct kvm_lapic_state lapic = { 0 };
	assert_int_equal(x86_lapic_deliverable_vector(&lapic), -1);
	/* in service only: the guest is in its handler, nothing waits */
	set_vector(&lapic, ISR, 0xec);
	assert_int_equal(x86_lapic_deliverable_vector(&lapic), -1);
}

static void test_highest_pending_wins(void **state)
{
	(void)state;
	struct kvm_lapic_state lapic = { 0 };
	set_vector(&lapic, IRR, 0x21);
	assert_int_equal(x86_lapic_deliverable_vector(&lapic), 0x21);
	set_vector(&lapic, IRR, 0xec);
	set_vector(&lapic, IRR, 0x41);
	assert_int_equal(x86_lapic_deliverable_vector(&lapic), 0xec);
	/* vectors 0..31 and the word boundaries: 0x3f, 0x40, 0xff */
	struct kvm_lapic_state edge = { 0 };
	set_vector(&edge, IRR, 0x3f);
	assert_int_equal(x86_lapic_deliverable_vector(&edge), 0x3f);
	set_vector(&edge, IRR, 0xff);
	assert_int_equal(x86_lapic_deliverable_vector(&edge), 0xff);
}

static void test_priority_holds_it_back(void **state)
{
	(void)state;
	struct kvm_lapic_state lapic = { 0 };
	set_vector(&lapic, IRR, 0x31);
	/* a vector of the same class in service blocks it, a lower one does not */
	set_vector(&lapic, ISR, 0x35);
	assert_int_equal(x86_lapic_deliverable_vector(&lapic), -1);
	struct kvm_lapic_state lower = { 0 };
	set_vector(&lower, IRR, 0x31);
	set_vector(&lower, ISR, 0x29);
	assert_int_equal(x86_lapic_deliverable_vector(&lower), 0x31);
	/* the task priority: class 3 blocks 0x31, class 2 lets it through */
	struct kvm_lapic_state task = { 0 };
	set_vector(&task, IRR, 0x31);
	set_tpr(&task, 0x30);
	assert_int_equal(x86_lapic_deliverable_vector(&task), -1);
	set_tpr(&task, 0x2f);
	assert_int_equal(x86_lapic_deliverable_vector(&task), 0x31);
}

static void test_in_service(void **state)
{
	(void)state;
	struct kvm_lapic_state lapic = { 0 };
	assert_int_equal(x86_lapic_in_service_vector(&lapic), -1);
	/* a pending vector is not in service */
	set_vector(&lapic, IRR, 0x22);
	assert_int_equal(x86_lapic_in_service_vector(&lapic), -1);
	set_vector(&lapic, ISR, 0x22);
	assert_int_equal(x86_lapic_in_service_vector(&lapic), 0x22);
	/* nested: the highest is the one its handler runs now */
	set_vector(&lapic, ISR, 0xec);
	assert_int_equal(x86_lapic_in_service_vector(&lapic), 0xec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_pending),
		cmocka_unit_test(test_highest_pending_wins),
		cmocka_unit_test(test_priority_holds_it_back),
		cmocka_unit_test(test_in_service),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
