/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_THREAD_H
#define EBB_THREAD_H

#include <pthread.h>
#include <stddef.h>

/*
 * Every ebb thread's stack size. Below 2 MiB, so that with transparent huge
 * pages set to "always" no stack is ever backed by a huge page: glibc's default
 * (8 MiB) let one 2 MiB page, nearly all of it unused, sit in every ebb.
 * 1 MiB holds jansson's deepest legal nesting with room to spare.
 */
#if defined(__SANITIZE_ADDRESS__)
#define EBB_THREAD_STACK_SIZE ((size_t)4 << 20) /* ASan's redzones triple frames */
#else
#define EBB_THREAD_STACK_SIZE ((size_t)1 << 20)
#endif

/* pthread_create() with EBB_THREAD_STACK_SIZE; returns 0 or a positive errno, as it does. */
int thread_start(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
