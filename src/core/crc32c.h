/*
 * CRC-32C (Castagnoli), as used by Kafka record batches v2. Uses SSE4.2 when the CPU has it
 * (checked once at start-up), a table otherwise.
 */
#ifndef RN_CORE_CRC32C_H
#define RN_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over buf; start with crc = 0. */
uint32_t rn_crc32c(uint32_t crc, const void *buf, size_t len);
/* The portable table implementation, for tests that check the fast path against it. */
uint32_t rn__crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
