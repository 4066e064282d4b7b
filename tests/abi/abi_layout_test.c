/*
 * abi_layout_test.c -- a complete driver vtable defined in C99, and the
 * layout invariants the versioning rules of driver.h depend on, checked at
 * run time (C99 has no _Static_assert).
 *
 * Why these invariants: the loader reads struct_size/abi_major/abi_minor of
 * any vtable before it knows its layout, so those three must sit at offsets
 * 0, 4, 6 of every versioned struct; minors only append, so the v1.0 fields
 * must keep their order; qplug_status is frozen and must stay 8 + 256 bytes.
 */
#include <qplug/driver.h>
#include <stdio.h>
#include <string.h>

static int abi_failures;
static int abi_checks;

#define ABI_CHECK(cond)                                                  \
  do {                                                                   \
    ++abi_checks;                                                        \
    if (!(cond)) {                                                       \
      ++abi_failures;                                                    \
      fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                    \
  } while (0)

/* The three leading fields of a versioned struct T. */
#define ABI_CHECK_HEADER(T)                   \
  do {                                        \
    ABI_CHECK(offsetof(T, struct_size) == 0); \
    ABI_CHECK(offsetof(T, abi_major) == 4);   \
    ABI_CHECK(offsetof(T, abi_minor) == 6);   \
  } while (0)

/* ---- a complete (if useless) driver, written the way a C author would ---- */
static qplug_driver *c_open(const qplug_host_v1 *h, const qplug_kv *c, size_t n, qplug_status *st) {
  (void)h, (void)c, (void)n;
  st->code = QPLUG_UNAVAILABLE;
  st->flags = QPLUG_STATUS_RETRYABLE;
  strcpy(st->message, "c driver: nothing to open");
  return NULL;
}
static void c_close(qplug_driver *d, uint32_t t) { (void)d, (void)t; }
static qplug_queue *c_declare(qplug_driver *d, qplug_str name, const qplug_kv *o, size_t n, qplug_status *st) {
  (void)d, (void)name, (void)o, (void)n, (void)st;
  return NULL;
}
static int32_t c_publish(qplug_queue *q, const qplug_message *const *m, size_t n, const qplug_publish_options *o,
                         qplug_publish_done_fn done, void *ud, size_t *acc, qplug_status *st) {
  (void)q, (void)m, (void)n, (void)o, (void)done, (void)ud, (void)acc, (void)st;
  return QPLUG_UNAVAILABLE;
}
static qplug_consumer *c_subscribe(qplug_queue *q, const qplug_subscribe_options *o, qplug_deliver_fn cb, void *ud,
                                   qplug_status *st) {
  (void)q, (void)o, (void)cb, (void)ud, (void)st;
  return NULL;
}
static int32_t c_settle(qplug_delivery *d, int32_t disp, qplug_status *st) {
  (void)d, (void)disp, (void)st;
  return QPLUG_CANCELED;
}
static int32_t c_unsubscribe(qplug_consumer *c, qplug_status *st) {
  (void)c, (void)st;
  return QPLUG_OK;
}
static void c_consumer_free(qplug_consumer *c) { (void)c; }
static int32_t c_queue_info(qplug_queue *q, qplug_queue_info *info, qplug_status *st) {
  (void)q, (void)st;
  info->messages = info->in_flight = info->consumers = -1;
  return QPLUG_OK;
}

static const qplug_driver_v1 c_driver = {sizeof(qplug_driver_v1),
                                         QPLUG_ABI_MAJOR,
                                         QPLUG_ABI_MINOR,
                                         "c_layout",
                                         "0.0.1",
                                         "a vtable defined in C99",
                                         QPLUG_CAP_QUEUE_INFO | QPLUG_CAP_HEADER_TYPES,
                                         NULL, /* config_schema: optional */
                                         c_open,
                                         c_close,
                                         c_declare,
                                         c_publish,
                                         c_subscribe,
                                         c_settle,
                                         c_unsubscribe,
                                         c_consumer_free,
                                         c_queue_info,
                                         NULL /* instance_capabilities: optional */};

static void check_vtable(void) {
  qplug_status st;
  ABI_CHECK_HEADER(qplug_driver_v1);
  ABI_CHECK(offsetof(qplug_driver_v1, name) == 8);
  /* v1.0 order, appended-only afterwards. */
  ABI_CHECK(offsetof(qplug_driver_v1, name) < offsetof(qplug_driver_v1, version));
  ABI_CHECK(offsetof(qplug_driver_v1, capabilities) < offsetof(qplug_driver_v1, config_schema));
  ABI_CHECK(offsetof(qplug_driver_v1, config_schema) < offsetof(qplug_driver_v1, open));
  ABI_CHECK(offsetof(qplug_driver_v1, open) < offsetof(qplug_driver_v1, close));
  ABI_CHECK(offsetof(qplug_driver_v1, close) < offsetof(qplug_driver_v1, declare));
  ABI_CHECK(offsetof(qplug_driver_v1, declare) < offsetof(qplug_driver_v1, publish));
  ABI_CHECK(offsetof(qplug_driver_v1, publish) < offsetof(qplug_driver_v1, subscribe));
  ABI_CHECK(offsetof(qplug_driver_v1, subscribe) < offsetof(qplug_driver_v1, settle));
  ABI_CHECK(offsetof(qplug_driver_v1, settle) < offsetof(qplug_driver_v1, unsubscribe));
  ABI_CHECK(offsetof(qplug_driver_v1, unsubscribe) < offsetof(qplug_driver_v1, consumer_free));
  ABI_CHECK(offsetof(qplug_driver_v1, consumer_free) < offsetof(qplug_driver_v1, queue_info));
  ABI_CHECK(offsetof(qplug_driver_v1, queue_info) < offsetof(qplug_driver_v1, instance_capabilities));
  /* ABI 1.1 appended instance_capabilities; it is the last field. */
  ABI_CHECK(offsetof(qplug_driver_v1, instance_capabilities) + sizeof(c_driver.instance_capabilities) ==
            sizeof(qplug_driver_v1));
  ABI_CHECK(sizeof(c_driver.open) == sizeof(void *));

  /* The C-initialised vtable is what a host sees. */
  ABI_CHECK(c_driver.struct_size == sizeof(qplug_driver_v1));
  ABI_CHECK(c_driver.abi_major == QPLUG_ABI_MAJOR);
  ABI_CHECK(strcmp(c_driver.name, "c_layout") == 0);
  ABI_CHECK(c_driver.config_schema == NULL);
  ABI_CHECK(c_driver.queue_info == c_queue_info);
  memset(&st, 0, sizeof st);
  ABI_CHECK(c_driver.open(NULL, NULL, 0, &st) == NULL);
  ABI_CHECK(st.code == QPLUG_UNAVAILABLE && (st.flags & QPLUG_STATUS_RETRYABLE) != 0);
}

static void check_data_structs(void) {
  ABI_CHECK_HEADER(qplug_message);
  ABI_CHECK_HEADER(qplug_host_v1);
  ABI_CHECK_HEADER(qplug_publish_options);
  ABI_CHECK_HEADER(qplug_subscribe_options);
  ABI_CHECK_HEADER(qplug_queue_info);
  /* Frozen for major 1. */
  ABI_CHECK(sizeof(qplug_status) == 8 + QPLUG_STATUS_MESSAGE_MAX);
  ABI_CHECK(offsetof(qplug_status, message) == 8);
  ABI_CHECK(sizeof(qplug_str) == 2 * sizeof(void *));
  ABI_CHECK(sizeof(qplug_bytes) == 2 * sizeof(void *));
  ABI_CHECK(offsetof(qplug_value, as) == 8);
  ABI_CHECK(sizeof(qplug_value) == 8 + sizeof(qplug_str));
  ABI_CHECK(sizeof(qplug_kv) == 2 * sizeof(qplug_str));
  ABI_CHECK(offsetof(qplug_header, value) == sizeof(qplug_str));
  /* Enum values are wire values: never renumbered. */
  ABI_CHECK(QPLUG_OK == 0 && QPLUG_INTERNAL == 8);
  ABI_CHECK(QPLUG_ACK == 0 && QPLUG_NACK_REQUEUE == 1 && QPLUG_REJECT == 2);
  ABI_CHECK(QPLUG_VALUE_NULL == 0 && QPLUG_VALUE_BYTES == 5);
  ABI_CHECK(strcmp(QPLUG_DRIVER_ENTRY_SYMBOL, "qplug_driver_entry") == 0);
}

int main(void) {
  check_vtable();
  check_data_structs();
  printf("%d passed, %d failed\n", abi_checks - abi_failures, abi_failures);
  return abi_failures == 0 ? 0 : 1;
}
