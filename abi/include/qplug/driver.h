/*
 * qplug/driver.h -- the qplug queue-driver C ABI, version 1.
 *
 * This one header is the whole contract between the qplug host (core, loader)
 * and a queue-driver plugin (memory, amqp, redis, mqtt, or any third-party
 * .so). A plugin built against this header alone, outside the qplug tree,
 * must load and pass the conformance suite.
 *
 * Rules (see DESIGN.md section 2):
 *  - A plugin exports exactly one symbol, qplug_driver_entry(). Everything
 *    else is hidden (-fvisibility=hidden plus a version script) so a plugin's
 *    broker client and TLS stack never collide with the host or other plugins.
 *  - Host services reach the plugin through the qplug_host_v1 table passed to
 *    open(); a plugin never links against host symbols.
 *  - Every versioned struct starts with struct_size, abi_major, abi_minor.
 *    Minor versions only APPEND fields. A reader uses only the fields that
 *    both its own sizeof() and the received struct_size cover, and never
 *    rejects a larger struct. A NULL function pointer means "unsupported".
 *  - Every pointer/length passed into a call is BORROWED for that call only;
 *    whoever keeps data copies it. Neither side frees the other's memory.
 *  - No C++ types, no exceptions (plugins written in C++ catch everything in
 *    each entry point and report QPLUG_INTERNAL), no errno.
 *  - The host never dlclose()s a plugin.
 *
 * Threading vocabulary used below:
 *   "any thread"  : may be called concurrently from several host threads.
 *   "may block"   : may wait on the network or on a lock held by I/O.
 *   "driver thread": a thread the driver created and joins in close().
 *
 * C99, no includes beyond <stddef.h> and <stdint.h>.
 */
#ifndef QPLUG_DRIVER_H
#define QPLUG_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QPLUG_ABI_MAJOR 1
#define QPLUG_ABI_MINOR 1

/* Name of the single symbol every plugin exports. */
#define QPLUG_DRIVER_ENTRY_SYMBOL "qplug_driver_entry"

#if defined(_WIN32)
#define QPLUG_EXPORT __declspec(dllexport)
#else
#define QPLUG_EXPORT __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------------ */
/* Opaque handles. Distinct incomplete types, so the compiler rejects mixing  */
/* them up. Each is created and owned by the driver.                          */
/* ------------------------------------------------------------------------ */
typedef struct qplug_driver qplug_driver;     /* one configured driver instance */
typedef struct qplug_queue qplug_queue;       /* one declared queue */
typedef struct qplug_consumer qplug_consumer; /* one subscription */
typedef struct qplug_delivery qplug_delivery; /* one delivered, unsettled message */

/* ------------------------------------------------------------------------ */
/* Status                                                                    */
/* ------------------------------------------------------------------------ */
typedef enum qplug_code {
  QPLUG_OK = 0,
  QPLUG_INVALID = 1,           /* bad argument, bad config key/value; never retryable */
  QPLUG_NOT_FOUND = 2,         /* queue/consumer/resource does not exist */
  QPLUG_PERMISSION_DENIED = 3, /* broker refused credentials or access */
  QPLUG_UNAVAILABLE = 4,       /* broker unreachable / connection lost */
  QPLUG_TIMEOUT = 5,           /* a bounded wait ran out */
  QPLUG_FULL = 6,              /* queue or buffer full (backpressure) */
  QPLUG_CANCELED = 7,          /* operation aborted by unsubscribe/close */
  QPLUG_INTERNAL = 8           /* bug or unexpected failure inside the driver */
} qplug_code;

/* qplug_status.flags bits */
#define QPLUG_STATUS_RETRYABLE 0x1u /* the same call may succeed later */

#define QPLUG_STATUS_MESSAGE_MAX 256

/*
 * Caller-allocated result of every fallible call. The callee writes code,
 * flags and a NUL-terminated message (truncated to fit) on failure, and may
 * leave it untouched on success (callers initialise code to QPLUG_OK).
 * Frozen for ABI major 1: never grows, so it carries no struct_size.
 */
typedef struct qplug_status {
  int32_t code;   /* qplug_code */
  uint32_t flags; /* QPLUG_STATUS_* */
  char message[QPLUG_STATUS_MESSAGE_MAX];
} qplug_status;

/* ------------------------------------------------------------------------ */
/* Borrowed spans and typed values                                           */
/* ------------------------------------------------------------------------ */

/* A borrowed string: NOT necessarily NUL-terminated; ptr may be NULL iff len==0. */
typedef struct qplug_str {
  const char *ptr;
  size_t len;
} qplug_str;

/* A borrowed byte range. */
typedef struct qplug_bytes {
  const uint8_t *ptr;
  size_t len;
} qplug_bytes;

typedef enum qplug_value_type {
  QPLUG_VALUE_NULL = 0,
  QPLUG_VALUE_BOOL = 1,
  QPLUG_VALUE_INT64 = 2,
  QPLUG_VALUE_DOUBLE = 3,
  QPLUG_VALUE_STRING = 4, /* UTF-8 text */
  QPLUG_VALUE_BYTES = 5   /* opaque binary */
} qplug_value_type;

/* A typed header value. Plain data, frozen for ABI major 1. */
typedef struct qplug_value {
  int32_t type; /* qplug_value_type */
  int32_t reserved;
  union {
    int32_t boolean; /* 0 or 1 */
    int64_t i64;
    double f64;
    qplug_str str;     /* QPLUG_VALUE_STRING */
    qplug_bytes bytes; /* QPLUG_VALUE_BYTES */
  } as;
} qplug_value;

typedef struct qplug_header {
  qplug_str key;
  qplug_value value;
} qplug_header;

/* A flattened configuration item: dotted key ("tls.enabled"), string value. */
typedef struct qplug_kv {
  qplug_str key;
  qplug_str value;
} qplug_kv;

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * A message, as published or as delivered. All spans are borrowed:
 *  - in publish(): valid for the duration of the call only (the driver
 *    copies what it keeps, also when it pipelines asynchronously);
 *  - in a delivery: valid until that delivery is settled.
 * Neutral header keys (priority, correlation_id, reply_to, content_type,
 * message_type, traceparent, delay, ttl) are translated by the driver to
 * native features when it has them and carried verbatim otherwise; on
 * delivery the driver presents them again as headers with the same keys.
 */
typedef struct qplug_message {
  uint32_t struct_size; /* sizeof(qplug_message) of the writer */
  uint16_t abi_major;
  uint16_t abi_minor;
  qplug_str id;           /* message ID (the host generates UUIDv7s); may be empty on delivery
                             only when the broker lost it */
  qplug_str content_type; /* codec name, e.g. "application/json" */
  qplug_bytes body;       /* encoded payload */
  const qplug_header *headers;
  size_t header_count;
  /* Deliveries: how many times this message has been delivered, this
   * delivery included (1 on first delivery). Publish: ignored, pass 0. */
  uint32_t attempts;
  uint32_t reserved;
} qplug_message;

/* ------------------------------------------------------------------------ */
/* Host services, passed to open(). Any member may be NULL on old hosts.      */
/* ------------------------------------------------------------------------ */
typedef enum qplug_log_level {
  QPLUG_LOG_DEBUG = 0,
  QPLUG_LOG_INFO = 1,
  QPLUG_LOG_WARN = 2,
  QPLUG_LOG_ERROR = 3
} qplug_log_level;

typedef struct qplug_host_v1 {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  void *host_ud; /* passed back as the first argument of every service */
  /* Log one line. Any thread, never blocks for long, msg is borrowed. */
  void (*log)(void *host_ud, int32_t level, const char *driver_name, const char *msg);
  /* Monotonic clock in nanoseconds. Any thread. */
  uint64_t (*monotonic_ns)(void *host_ud);
  /* Wall clock, milliseconds since the Unix epoch. Any thread. */
  uint64_t (*wall_ms)(void *host_ud);
} qplug_host_v1;

/* ------------------------------------------------------------------------ */
/* Capabilities a driver reports (qplug_driver_v1.capabilities). The core     */
/* emulates delay, dead-letter and attempt counting when they are missing     */
/* and refuses configurations that need what it cannot emulate.              */
/* ------------------------------------------------------------------------ */
#define QPLUG_CAP_PERSISTENT (1ull << 0)           /* survives a broker restart */
#define QPLUG_CAP_ACK_AFTER_PROCESSING (1ull << 1) /* unsettled deliveries are redelivered */
#define QPLUG_CAP_NACK_REQUEUE (1ull << 2)         /* settle(NACK_REQUEUE) redelivers */
#define QPLUG_CAP_ORDERED (1ull << 3)              /* FIFO per queue with one consumer */
#define QPLUG_CAP_PRIORITY (1ull << 4)             /* "priority" header honoured natively */
#define QPLUG_CAP_DELAY (1ull << 5)                /* "delay" header honoured natively */
#define QPLUG_CAP_TTL (1ull << 6)                  /* "ttl" header honoured natively */
#define QPLUG_CAP_DEAD_LETTER (1ull << 7)          /* native dead-lettering on REJECT */
#define QPLUG_CAP_COMPETING_CONSUMERS (1ull << 8)  /* subscribers share one queue's messages */
#define QPLUG_CAP_BATCH_PUBLISH (1ull << 9)        /* n>1 publish is cheaper than n calls */
#define QPLUG_CAP_ASYNC_PUBLISH (1ull << 10)       /* completion callback pipelines */
#define QPLUG_CAP_CONSUMER_GROUPS (1ull << 11)     /* distinct groups each get every message */
#define QPLUG_CAP_DELIVERY_COUNT (1ull << 12)      /* attempts tracked by the broker */
#define QPLUG_CAP_QUEUE_INFO (1ull << 13)          /* queue_info() gives counts */
#define QPLUG_CAP_HEADER_TYPES (1ull << 14)        /* header value types survive the round trip */

/* ------------------------------------------------------------------------ */
/* Call options                                                               */
/* ------------------------------------------------------------------------ */

/* Options of one publish() call. NULL means all defaults. */
typedef struct qplug_publish_options {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  /* How long publish may wait for room/connection before failing:
   * <0 driver default, 0 fail at once, >0 milliseconds. */
  int64_t timeout_ms;
} qplug_publish_options;

/* Options of one subscribe() call. */
typedef struct qplug_subscribe_options {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  /* Maximum unsettled deliveries handed to this subscription at once.
   * The driver never calls deliver_cb while this many are unsettled.
   * 0 means driver default. */
  uint32_t prefetch;
  uint32_t reserved;
  /* Consumer group: subscribers with the same group compete for messages,
   * distinct groups each see every message (where the broker supports it,
   * see QPLUG_CAP_CONSUMER_GROUPS). Empty: the driver's default group. */
  qplug_str group;
  /* Name of this consumer inside its group (diagnostics, Redis consumer
   * name, AMQP consumer tag). Empty: the driver picks one. */
  qplug_str consumer_name;
  /* The consumer's driver_options.<driver> block, flattened. */
  const qplug_kv *options;
  size_t option_count;
} qplug_subscribe_options;

typedef enum qplug_disposition {
  QPLUG_ACK = 0,          /* processed; remove from the queue */
  QPLUG_NACK_REQUEUE = 1, /* not processed; deliver again (attempts + 1) */
  QPLUG_REJECT = 2        /* drop, or dead-letter natively if configured */
} qplug_disposition;

/* Counts a driver knows about a queue; -1 where unknown. */
typedef struct qplug_queue_info {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  int64_t messages;  /* ready (not yet delivered) messages */
  int64_t in_flight; /* delivered, not yet settled */
  int64_t consumers; /* active subscriptions */
} qplug_queue_info;

/* ------------------------------------------------------------------------ */
/* Callbacks from the driver to the host                                      */
/* ------------------------------------------------------------------------ */

/*
 * Completion of an asynchronous publish() batch. Called exactly once per
 * accepted batch, from a driver thread or from inside publish() itself, even
 * when the driver is closing (then with QPLUG_CANCELED or UNAVAILABLE).
 * `accepted` is how many leading messages of the batch the broker took
 * responsibility for; when status->code != OK, messages from index
 * `accepted` on were not confirmed and the caller decides what to do with them.
 * status is borrowed for the call. Must not block for long; may call publish().
 */
typedef void (*qplug_publish_done_fn)(void *done_ud, const qplug_status *status, size_t accepted);

/*
 * One delivery. Called from a driver thread (never from inside subscribe()
 * on the calling thread's stack, never concurrently more than `prefetch`
 * unsettled deliveries per subscription). `message` and all its spans stay
 * valid until `delivery` is settled. The host must settle every delivery
 * exactly once -- also after unsubscribe(), when settle() then returns
 * QPLUG_CANCELED and the broker redelivers the message. The callback should
 * return quickly (hand the work to a worker); it may call settle() itself.
 */
typedef void (*qplug_deliver_fn)(void *host_ud, qplug_delivery *delivery, const qplug_message *message);

/* ------------------------------------------------------------------------ */
/* The driver vtable                                                          */
/* ------------------------------------------------------------------------ */

/*
 * Every op returns a qplug_code (or a handle, NULL on failure) and fills the
 * caller's status on failure. Mandatory ops are non-NULL; the loader checks
 * this once so the core never tests them again.
 */
typedef struct qplug_driver_v1 {
  uint32_t struct_size; /* sizeof(qplug_driver_v1) of the plugin */
  uint16_t abi_major;   /* QPLUG_ABI_MAJOR the plugin was built with */
  uint16_t abi_minor;   /* QPLUG_ABI_MINOR the plugin was built with */

  const char *name;        /* mandatory: driver name used in YAML (queue.driver.<name>) */
  const char *version;     /* mandatory: plugin version string */
  const char *description; /* optional: one line; may be NULL */
  uint64_t capabilities;   /* QPLUG_CAP_* bits; honest */

  /*
   * OPTIONAL. A JSON Schema (draft 2020-12) describing the config keys,
   * static storage. Any thread, never blocks.
   */
  const char *(*config_schema)(void);

  /*
   * MANDATORY. Create a driver instance from its flattened YAML block.
   * Unknown keys are QPLUG_INVALID naming the key. May block (may connect;
   * drivers that connect lazily must still validate config here). Any thread.
   * `host` stays valid until close() returns. Returns NULL and fills status
   * on failure. Config spans are borrowed for the call.
   */
  qplug_driver *(*open)(const qplug_host_v1 *host, const qplug_kv *config, size_t config_count, qplug_status *status);

  /*
   * MANDATORY. Stop every driver thread and free the instance. Bounded by
   * timeout_ms even when the broker is dead. Pending asynchronous publishes
   * complete (their callbacks run, with CANCELED/UNAVAILABLE if unconfirmed)
   * before close() returns. All consumers must already be unsubscribed and
   * freed; all queue handles become invalid. Never called concurrently with
   * any other op of this instance. Never fails.
   */
  void (*close)(qplug_driver *driver, uint32_t timeout_ms);

  /*
   * MANDATORY. Declare (create if needed, validate if existing) the queue
   * `name` with the queue's driver_options.<driver> block. Idempotent: the
   * same name twice returns handles to the same queue. May block. Any thread.
   * The handle lives until close(). NULL + status on failure (INVALID for a
   * bad name or unknown option key, UNAVAILABLE if the broker is down).
   */
  qplug_queue *(*declare)(qplug_driver *driver, qplug_str name, const qplug_kv *options, size_t option_count,
                          qplug_status *status);

  /*
   * MANDATORY. Publish a batch of n >= 1 messages, in order. Any thread;
   * concurrent callers are pipelined together by the driver.
   *  - done == NULL: blocks until the broker took responsibility for every
   *    message (AMQP confirm, Redis reply, MQTT PUBACK, memory: enqueued) or
   *    the first failure. *accepted (if non-NULL) receives how many leading
   *    messages succeeded.
   *  - done != NULL: returns QPLUG_OK once the batch is accepted for
   *    pipelining (it may still block for room, bounded by timeout_ms) and
   *    done() runs exactly once later. If it returns non-OK, done() is NEVER
   *    called and nothing of the batch was published.
   * Codes: INVALID (bad message), FULL/TIMEOUT/UNAVAILABLE (retryable),
   * CANCELED (closing). `msgs` is an array of n pointers; all borrowed.
   */
  int32_t (*publish)(qplug_queue *queue, const qplug_message *const *msgs, size_t n,
                     const qplug_publish_options *options, qplug_publish_done_fn done, void *done_ud, size_t *accepted,
                     qplug_status *status);

  /*
   * MANDATORY. Start delivering messages of `queue` to deliver_cb(host_ud, ...)
   * on driver threads. Any thread, may block. Returns the consumer handle or
   * NULL + status. Delivery starts possibly before subscribe() returns.
   */
  qplug_consumer *(*subscribe)(qplug_queue *queue, const qplug_subscribe_options *options, qplug_deliver_fn deliver_cb,
                               void *host_ud, qplug_status *status);

  /*
   * MANDATORY. Settle a delivery, exactly once, from any thread (drivers whose
   * client library is single-threaded marshal this to their I/O thread).
   * After the call the delivery and its message spans are invalid, whatever
   * the result. May block briefly. Codes: OK; CANCELED (the subscription was
   * unsubscribed, the broker gets/got the message back); UNAVAILABLE (the
   * connection was lost, the broker will redeliver).
   */
  int32_t (*settle)(qplug_delivery *delivery, int32_t disposition, qplug_status *status);

  /*
   * MANDATORY. Stop delivery and quiesce: after it returns no deliver_cb call
   * is running or will start for this consumer. Unsettled deliveries go back
   * to the broker (their later settle() returns CANCELED). Idempotent. Never
   * called from inside deliver_cb. Any thread, may block up to a bounded time.
   */
  int32_t (*unsubscribe)(qplug_consumer *consumer, qplug_status *status);

  /*
   * MANDATORY. Free a consumer handle after unsubscribe(). Deliveries still
   * unsettled stay valid until settled. Called exactly once per consumer.
   */
  void (*consumer_free)(qplug_consumer *consumer);

  /*
   * OPTIONAL. Fill counts for a queue (-1 where unknown). Any thread, may block.
   */
  int32_t (*queue_info)(qplug_queue *queue, qplug_queue_info *info, qplug_status *status);

  /*
   * OPTIONAL (ABI 1.1; read only when struct_size covers it). The QPLUG_CAP_*
   * bits of this open instance, for drivers whose settings switch a
   * capability off (e.g. mqtt's `spool.enabled: false` drops
   * ACK_AFTER_PROCESSING). `capabilities` above then describes the default
   * configuration (what `qplug drivers` lists); the host uses this op's
   * answer for everything the instance does, and it must be as honest. Any
   * thread, never blocks, never fails. NULL (or a 1.0 vtable): every
   * instance has `capabilities`.
   */
  uint64_t (*instance_capabilities)(qplug_driver *driver);
} qplug_driver_v1;

/*
 * The one exported function. The host passes the ABI version it speaks.
 * Returns the plugin's vtable in static storage (valid forever), or NULL and
 * fills `status` with the reason (e.g. "needs host ABI 1.2"). Must not
 * start threads or connect. Called from any thread, possibly more than once.
 */
typedef const qplug_driver_v1 *(*qplug_driver_entry_fn)(uint32_t host_major, uint32_t host_minor, qplug_status *status);

QPLUG_EXPORT const qplug_driver_v1 *qplug_driver_entry(uint32_t host_major, uint32_t host_minor, qplug_status *status);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QPLUG_DRIVER_H */
