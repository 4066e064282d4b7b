/*
 * test_plugin.c -- one minimal driver, compiled many times with a different
 * defect each (see tests/loader/CMakeLists.txt), so every way a plugin can be
 * broken is a real .so the loader has to reject.
 *
 *   TP_NAME / TP_VERSION   vtable name/version (string literal or NULL)
 *   TP_NO_ENTRY            export a misspelled entry point instead
 *   TP_ENTRY_NULL          entry returns NULL with a reason
 *   TP_MAJOR               abi_major to report
 *   TP_TOO_SMALL           struct_size stops before consumer_free
 *   TP_NULL_OP=<op>        that mandatory operation is NULL
 *   TP_NEWER_MINOR         a larger struct from a future minor (extra fields appended)
 *   TP_V1_0_SIZE           struct_size is exactly the v1.0 size (no queue_info),
 *                          while queue_info is non-NULL past it: the loader must not read it
 *   TP_MINOR_0_SIZE        struct_size ends before instance_capabilities (a plugin built
 *                          for ABI 1.0), while the op is non-NULL past it: not to be called
 *
 * The ops do nothing useful; the loader tests only load and inspect.
 */
#include <qplug/driver.h>
#include <stddef.h>
#include <string.h>

#ifndef TP_NAME
#define TP_NAME "good"
#endif
#ifndef TP_VERSION
#define TP_VERSION "1.0.0-test"
#endif
#ifndef TP_MAJOR
#define TP_MAJOR QPLUG_ABI_MAJOR
#endif

static int tp_refuse(qplug_status *st) {
  if (st != NULL) {
    st->code = QPLUG_INVALID;
    st->flags = 0;
    strcpy(st->message, "test plugin: not a working driver");
  }
  return QPLUG_INVALID;
}

static qplug_driver *tp_open(const qplug_host_v1 *host, const qplug_kv *cfg, size_t n, qplug_status *st) {
  (void)host, (void)cfg, (void)n;
  tp_refuse(st);
  return NULL;
}
static void tp_close(qplug_driver *d, uint32_t timeout_ms) { (void)d, (void)timeout_ms; }
static qplug_queue *tp_declare(qplug_driver *d, qplug_str name, const qplug_kv *o, size_t n, qplug_status *st) {
  (void)d, (void)name, (void)o, (void)n;
  tp_refuse(st);
  return NULL;
}
static int32_t tp_publish(qplug_queue *q, const qplug_message *const *m, size_t n, const qplug_publish_options *o,
                          qplug_publish_done_fn done, void *ud, size_t *accepted, qplug_status *st) {
  (void)q, (void)m, (void)n, (void)o, (void)done, (void)ud, (void)accepted;
  return tp_refuse(st);
}
static qplug_consumer *tp_subscribe(qplug_queue *q, const qplug_subscribe_options *o, qplug_deliver_fn cb, void *ud,
                                    qplug_status *st) {
  (void)q, (void)o, (void)cb, (void)ud;
  tp_refuse(st);
  return NULL;
}
static int32_t tp_settle(qplug_delivery *d, int32_t disposition, qplug_status *st) {
  (void)d, (void)disposition;
  return tp_refuse(st);
}
static int32_t tp_unsubscribe(qplug_consumer *c, qplug_status *st) {
  (void)c;
  return tp_refuse(st);
}
static void tp_consumer_free(qplug_consumer *c) { (void)c; }
static int32_t tp_queue_info(qplug_queue *q, qplug_queue_info *info, qplug_status *st) {
  (void)q, (void)info;
  return tp_refuse(st);
}
/* The static bits say PERSISTENT; the instance adds HEADER_TYPES, so a test
 * sees which of the two the loader reported. */
#define TP_STATIC_CAPS QPLUG_CAP_PERSISTENT
static uint64_t tp_instance_capabilities(qplug_driver *d) {
  (void)d;
  return QPLUG_CAP_PERSISTENT | QPLUG_CAP_HEADER_TYPES;
}
static const char *tp_schema(void) { return "{\"type\":\"object\"}"; }

/* A future minor appends fields; its vtable embeds v1 at offset 0. */
static struct {
  qplug_driver_v1 v1;
  void (*future_op)(void);
  uint64_t future_flags;
} tp_storage;

#ifdef TP_NO_ENTRY
QPLUG_EXPORT const qplug_driver_v1 *qplug_driver_entry_misspelled(uint32_t major, uint32_t minor, qplug_status *st);
QPLUG_EXPORT const qplug_driver_v1 *qplug_driver_entry_misspelled(uint32_t major, uint32_t minor, qplug_status *st)
#else
const qplug_driver_v1 *qplug_driver_entry(uint32_t major, uint32_t minor, qplug_status *st)
#endif
{
  qplug_driver_v1 *vt = &tp_storage.v1;
  (void)major, (void)minor;
#ifdef TP_ENTRY_NULL
  st->code = QPLUG_INVALID;
  strcpy(st->message, "needs host ABI 1.7 for the frobnicate op");
  return NULL;
#else
  (void)st;
#endif
  vt->struct_size = (uint32_t)sizeof(qplug_driver_v1);
  vt->abi_major = TP_MAJOR;
  vt->abi_minor = QPLUG_ABI_MINOR;
  vt->name = TP_NAME;
  vt->version = TP_VERSION;
  vt->description = "loader test plugin";
  vt->capabilities = TP_STATIC_CAPS;
  vt->config_schema = tp_schema;
  vt->open = tp_open;
  vt->close = tp_close;
  vt->declare = tp_declare;
  vt->publish = tp_publish;
  vt->subscribe = tp_subscribe;
  vt->settle = tp_settle;
  vt->unsubscribe = tp_unsubscribe;
  vt->consumer_free = tp_consumer_free;
  vt->queue_info = tp_queue_info;
  vt->instance_capabilities = tp_instance_capabilities;
#ifdef TP_TOO_SMALL
  vt->struct_size = (uint32_t)offsetof(qplug_driver_v1, consumer_free);
#endif
#ifdef TP_NULL_OP
  vt->TP_NULL_OP = NULL;
#endif
#ifdef TP_NEWER_MINOR
  vt->struct_size = (uint32_t)sizeof tp_storage;
  vt->abi_minor = QPLUG_ABI_MINOR + 1;
#endif
#ifdef TP_MINOR_0_SIZE
  vt->struct_size = (uint32_t)offsetof(qplug_driver_v1, instance_capabilities);
  vt->abi_minor = 0;
#endif
#ifdef TP_V1_0_SIZE
  vt->struct_size = (uint32_t)offsetof(qplug_driver_v1, queue_info);
#endif
  return vt;
}
